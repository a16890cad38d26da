// Control flow: if/else chains, while, for, do-while, break, continue, nested loops.

int evens;
int first_sq;
int once;
int nested;
int steps;
int peak;
int classes;

int classify(int n) {
    if (n < 0) {
        return -1;
    } else if (n == 0) {
        return 0;
    } else if (n < 10) {
        return 1;
    } else {
        return 2;
    }
}

void main() {
    int i;
    int j;
    int n;
    int x;

    // continue: sum of the even numbers 0..20 = 110
    evens = 0;
    for (i = 0; i <= 20; i++) {
        if (i % 2) continue;
        evens += i;
    }

    // break out of an endless while: first n with n*n > 200 is 15
    n = 0;
    while (1) {
        if (n * n > 200) break;
        n++;
    }
    first_sq = n;

    // do-while runs its body once even though the condition is false at once
    once = 0;
    x = 100;
    do {
        once++;
        x++;
    } while (x < 10);

    // nested loops, inner break and continue: pairs i < j <= 7 with (i + j) % 3 == 0 -> 9
    nested = 0;
    for (i = 0; i < 10; i++) {
        for (j = i + 1; j < 10; j++) {
            if (j == 8) break;
            if ((i + j) % 3 != 0) continue;
            nested++;
        }
    }

    // Collatz sequence of 27: 111 steps, peak 9232
    n = 27;
    steps = 0;
    peak = n;
    while (n != 1) {
        if (n % 2 == 0) {
            n = n / 2;
        } else {
            n = 3 * n + 1;
        }
        if (n > peak) peak = n;
        steps++;
    }

    // else-if chain: -1 + 0 + 1 + 2 + 2 = 4
    classes = classify(-5) + classify(0) + classify(7) + classify(10) + classify(99);

    printf("evens=%d first_sq=%d once=%d\n", evens, first_sq, once);
    printf("nested=%d\n", nested);
    printf("collatz(27): %d steps, peak %d\n", steps, peak);
    printf("classes: %d %d %d %d %d = %d\n", classify(-5), classify(0), classify(7), classify(10), classify(99), classes);
}
