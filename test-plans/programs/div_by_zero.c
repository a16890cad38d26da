// Expected failure: an integer division by zero stops the VM with DIVISION_BY_ZERO.
// The divisor comes from a variable, so the compiler cannot see it coming.

int before;
int after;

int divide(int a, int b) {
    return a / b;
}

void main() {
    int zero = 0;
    before = 1;
    printf("dividing 10 by %d\n", zero);
    after = divide(10, zero);
    printf("unreachable: %d\n", after);
}
