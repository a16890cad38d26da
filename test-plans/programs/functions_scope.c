// Functions and scopes: pass by value, six parameters, block-scoped locals shadowing a
// local and a global, a global initialiser, mutual recursion through a prototype.

int x = 100;
int param_after;
int shadow_seen;
int sum6;
int even_odd;

int is_odd(int n);

int is_even(int n) {
    if (n == 0) return 1;
    return is_odd(n - 1);
}

int is_odd(int n) {
    if (n == 0) return 0;
    return is_even(n - 1);
}

int add6(int a, int b, int c, int d, int e, int f) {
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f;
}

void clobber(int v) {
    v = v * 2;        // changes the callee's copy only
    x = x + v;        // the global: 100 + 10 = 110
}

int scopes() {
    int x = 1;        // shadows the global
    int total = x;    // 1
    {
        int x = 20;   // shadows the local
        total += x;   // 21
    }
    total += x;       // the local again: 22
    return total;
}

void main() {
    int v = 5;
    clobber(v);
    param_after = v;                             // still 5
    shadow_seen = scopes();                      // 22
    sum6 = add6(1, 2, 3, 4, 5, 6);               // 1 + 4 + 9 + 16 + 25 + 36 = 91
    even_odd = is_even(10) * 10 + is_odd(7);     // 1 * 10 + 1 = 11
    printf("x=%d param_after=%d scopes=%d\n", x, param_after, shadow_seen);
    printf("add6=%d even_odd=%d\n", sum6, even_odd);
}
