// Signed vs unsigned: the same 32 bits compare, divide and shift differently. A comparison
// of an int with an unsigned converts the int to unsigned (C's usual arithmetic conversions).

int s_lt;
int u_lt;
int mixed_lt;
int u_ge;
int s_ge;
unsigned udiv;
int sdiv;
unsigned ushr;
int sshr;
unsigned umod;
int count_signed;
int count_unsigned;

void main() {
    int s = -1;
    int one = 1;
    unsigned u = 0xFFFFFFFF;
    unsigned uone = 1;
    unsigned top = 0x80000000;
    int smin = -2147483647 - 1;
    int i;
    unsigned ui;

    s_lt = s < one;              // -1 < 1 signed: 1
    u_lt = u < uone;             // 4294967295 < 1: 0
    mixed_lt = s < uone;         // -1 becomes 4294967295: 0
    u_ge = top >= 0x7FFFFFFF;    // 2147483648 >= 2147483647: 1
    s_ge = smin >= 0x7FFFFFFF;   // -2147483648 >= 2147483647: 0
    udiv = (u - 1) / 2;          // 4294967294 / 2 = 2147483647
    sdiv = (s - 1) / 2;          // -2 / 2 = -1
    ushr = top >> 4;             // logical: 0x08000000
    sshr = smin >> 4;            // arithmetic: 0xF8000000 = -134217728
    umod = u % 10;               // 4294967295 % 10 = 5

    count_signed = 0;
    for (i = -3; i < 3; i++) {
        count_signed++;          // -3..2: 6 times
    }
    count_unsigned = 0;
    for (ui = 0; ui < top; ui += 0x20000000) {
        count_unsigned++;        // 0, 0x2..., 0x4..., 0x6...: 4 times (0 if compared signed)
    }

    printf("s<1:%d u<1:%d mixed:%d\n", s_lt, u_lt, mixed_lt);
    printf("u_ge:%d s_ge:%d\n", u_ge, s_ge);
    printf("udiv=%u sdiv=%d umod=%u\n", udiv, sdiv, umod);
    printf("ushr=%x sshr=%x\n", ushr, sshr);
    printf("u=%u as int %d\n", u, u);
    printf("loops %d %d\n", count_signed, count_unsigned);
}
