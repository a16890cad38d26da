// Recursion: fib(15) = 610 with a call counter, 12! and Euclid's gcd.

int result;
int calls;
int factorial;
int divisor;

int fib(int n) {
    calls = calls + 1;
    if (n < 2) {
        return n;
    }
    return fib(n - 1) + fib(n - 2);
}

int fact(int n) {
    if (n <= 1) return 1;
    return n * fact(n - 1);
}

int gcd(int a, int b) {
    if (b == 0) return a;
    return gcd(b, a % b);
}

void main() {
    result = fib(15);
    printf("fib(15) = %d\n", result);
    printf("calls = %d\n", calls);
    factorial = fact(12);
    printf("12! = %d\n", factorial);
    divisor = gcd(1071, 462);
    printf("gcd(1071, 462) = %d\n", divisor);
}
