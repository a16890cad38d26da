// Does not compile: `countr` on line 6 is a typo for `counter` (an undefined variable).
int counter;

void main() {
    counter = 1;
    countr = counter + 1;
    printf("counter=%d\n", counter);
}
