// Short-circuit evaluation: && and || skip their right operand when the left one decides,
// and ?: evaluates only the chosen branch. bump() records every call in trail[], so the
// trail and the counter prove which operands ran.

int touched;
int trail[16];
int skipped;
int r1;
int r2;
int r3;
int r4;
int r5;
int r6;
int r7;
int r8;
int r9;

int bump(int v) {
    trail[touched] = v;
    touched = touched + 1;
    return v;
}

void main() {
    int d = 0;
    int i;

    touched = 0;
    r1 = 0 && bump(1);               // skipped, 0
    r2 = 1 || bump(1);               // skipped, 1
    skipped = touched;               // 0
    r3 = 1 && bump(5);               // runs, 1 (normalised)
    r4 = 0 || bump(7);               // runs, 1
    r5 = bump(0) && bump(1);         // left runs, right skipped, 0
    r6 = bump(3) || bump(4);         // left runs, right skipped, 1
    r7 = (d != 0) && (100 / d > 1);  // guard: no division by zero, 0
    r8 = touched > 3 ? bump(10) : bump(20);   // touched is 4: bump(10), 10
    r9 = bump(0) || bump(2) && bump(0);       // 0 || (2 && 0): three calls, 0

    printf("r1..r5=%d,%d,%d,%d,%d\n", r1, r2, r3, r4, r5);
    printf("r6..r9=%d,%d,%d,%d skipped=%d\n", r6, r7, r8, r9, skipped);
    printf("touched=%d\n", touched);
    printf("trail=%d", trail[0]);
    for (i = 1; i < touched; i++) {
        printf(",%d", trail[i]);
    }
    printf("\n");
}
