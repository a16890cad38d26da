// Expected failure: reading past the end of an 8-element array is MEMORY_BOUNDS.
// The index is computed at run time, so only the VM can catch it.

int table[8];
int i;

void main() {
    for (i = 0; i < 8; i++) {
        table[i] = i * i;
    }
    printf("table filled, table[7]=%d\n", table[7]);
    i = 8 + table[1];
    printf("reading index %d\n", i);
    table[0] = table[i];
    printf("unreachable\n");
}
