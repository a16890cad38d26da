// Signed 32-bit arithmetic: negative numbers, C division and remainder (truncation toward
// zero, remainder takes the dividend's sign), constants that need more than 16 bits,
// wrap-around, precedence and left associativity of - and /.

int neg;
int quot;
int rem;
int big;
int bigneg;
int product;
int million;
int wrap;
int prec;
int mixed;
int chain;
int divchain;
int unary;

void main() {
    int a = 5;
    int b = 10;
    int c = -3;
    int m7 = -7;

    neg = -42;
    quot = m7 / 2;               // -3
    rem = m7 % 2;                // -1
    big = 0x12345678 + a;        // 0x1234567D = 305419901
    bigneg = -100000 * 3 / 7;    // -300000 / 7 = -42857
    product = 200 * 300;         // 60000
    million = 1000 * 1000;       // 1000000
    wrap = 2147483647;
    wrap = wrap + 1;             // wraps to -2147483648
    prec = 2 + 3 * 4 - 10 / 5;   // 2 + 12 - 2 = 12
    mixed = a - b + c;           // (5 - 10) + -3 = -8
    chain = 100 - 25 - 5;        // 70
    divchain = 84 / 7 * 2;       // 12 * 2 = 24
    unary = -(a - b) * -c;       // 5 * 3 = 15

    printf("neg=%d quot=%d rem=%d\n", neg, quot, rem);
    printf("big=%d bigneg=%d\n", big, bigneg);
    printf("product=%d million=%d wrap=%d\n", product, million, wrap);
    printf("prec=%d mixed=%d chain=%d\n", prec, mixed, chain);
    printf("divchain=%d unary=%d\n", divchain, unary);
}
