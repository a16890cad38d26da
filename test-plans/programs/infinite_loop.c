// Expected failure: a main() that never returns is stopped by the instruction budget.

int spins;

void main() {
    printf("spinning\n");
    while (1) {
        spins++;
    }
    printf("unreachable\n");
}
