// printf conversions: %d %i %u %x %X %c %s %%, string escapes, and the extremes of 32 bits.

void main() {
    int n = -42;
    unsigned u = 3000000000;

    printf("d=%d i=%i\n", n, 1234);
    printf("u=%u\n", u);
    printf("x=%x X=%X\n", 48879, 0xDEADBEEF);
    printf("c=%c%c%c\n", 67, 86, 77);
    printf("s=%s!\n", "text");
    printf("pct=100%%\n");
    printf("tab[\t] quote[\"] backslash[\\]\n");
    printf("zero=%d neg_u=%u hex_neg=%x\n", 0, -1, -1);
    printf("min=%d max=%d\n", -2147483647 - 1, 2147483647);
    printf("no newline at the end");
}
