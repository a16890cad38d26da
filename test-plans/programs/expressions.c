// Expressions with side effects: chained assignment, assignment as a condition, pre/post
// increment and decrement, the comma operator, nested ?:, compound assignments as values.

int a;
int b;
int c;
int chained;
int cond_count;
int post;
int pre;
int after_inc;
int comma;
int nested_ternary;
int compound_value;
int neg_min;

int sign(int x) {
    return x > 0 ? 1 : x < 0 ? -1 : 0;
}

void main() {
    int n;
    int i;

    a = b = c = 7;                        // right to left: all 7
    chained = a + b + c;                  // 21

    n = 5;
    cond_count = 0;
    while ((n = n - 1) > 0) {             // n = 4, 3, 2, 1 pass; 0 stops: 4 runs
        cond_count++;
    }

    i = 10;
    post = i++;                           // 10, i = 11
    pre = ++i;                            // 12, i = 12
    after_inc = i--;                      // 12, i = 11
    after_inc = after_inc * 100 + --i;    // 1200 + 10 = 1210, i = 10
    comma = (i = 3, i * i);               // 9

    nested_ternary = sign(-5) * 100 + sign(0) * 10 + sign(42);   // -100 + 0 + 1 = -99
    compound_value = (a += 3) * 2;        // a = 10: 20
    b = c -= 2;                           // c = 5, b = 5
    c %= 3;                               // 2
    c <<= 4;                              // 32
    c |= 1;                               // 33
    neg_min = -(-2147483647 - 1);         // -INT_MIN wraps to INT_MIN

    printf("chained=%d cond_count=%d\n", chained, cond_count);
    printf("post=%d pre=%d after_inc=%d\n", post, pre, after_inc);
    printf("comma=%d ternary=%d compound=%d\n", comma, nested_ternary, compound_value);
    printf("a=%d b=%d c=%d neg_min=%d\n", a, b, c, neg_min);
}
