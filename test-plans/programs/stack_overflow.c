// Expected failure: recursion without a base case overflows the call stack (STACK_OVERFLOW).

int depth;

int dive(int n) {
    depth = n;
    return dive(n + 1) + 1;
}

void main() {
    printf("diving\n");
    dive(1);
    printf("unreachable\n");
}
