// Bitwise operators and shifts on 32-bit values: & | ^ ~ << >> (logical for unsigned,
// arithmetic for int), compound forms, precedence, a rotate, a byte swap, a bit count.

unsigned band;
unsigned bor;
unsigned bxor;
unsigned bnot;
unsigned shl;
int sar;
unsigned shr;
unsigned rotl;
int popcount;
unsigned swapped;
int flags;
int p;
int p2;

int count_bits(unsigned v) {
    int n = 0;
    while (v != 0) {
        n += v & 1;
        v >>= 1;
    }
    return n;
}

void main() {
    unsigned v = 0xF0F0A5A5;
    int neg = -16;

    band = v & 0x0FF00FF0;       // 0x00F005A0
    bor = v | 0x0F0F0000;        // 0xFFFFA5A5
    bxor = v ^ 0xFFFFFFFF;       // 0x0F0F5A5A
    bnot = ~v;                   // 0x0F0F5A5A
    shl = v << 4;                // 0x0F0A5A50
    sar = neg >> 2;              // -4
    shr = v >> 28;               // 15
    rotl = (v << 8) | (v >> 24); // 0xF0A5A5F0
    popcount = count_bits(v);    // 4+0+4+0+2+2+2+2 = 16
    swapped = ((v & 0xFF) << 24) | ((v & 0xFF00) << 8) | ((v >> 8) & 0xFF00) | (v >> 24); // 0xA5A5F0F0

    flags = 0;
    flags |= 1 << 3;             // 8
    flags |= 1 << 5;             // 40
    flags ^= 1 << 0;             // 41
    flags &= ~(1 << 3);          // 33
    flags <<= 2;                 // 132
    flags >>= 1;                 // 66

    p = 1 | 2 ^ 3 & 4 << 1;      // 1 | (2 ^ (3 & (4 << 1))) = 1 | (2 ^ 0) = 3
    p2 = 6 & 3 == 3;             // 6 & (3 == 3) = 6 & 1 = 0

    printf("and=%x or=%x xor=%x not=%x\n", band, bor, bxor, bnot);
    printf("shl=%x sar=%d shr=%u rotl=%x\n", shl, sar, shr, rotl);
    printf("popcount=%d swapped=%X\n", popcount, swapped);
    printf("flags=%d p=%d p2=%d\n", flags, p, p2);
}
