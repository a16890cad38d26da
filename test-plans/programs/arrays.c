// Arrays: the sieve of Eratosthenes below 64, an initialised array, a partly initialised
// array, and a bubble sort in place.

int sieve[64];
int primes[20];
int weights[6] = {3, -1, 4, -1, 5, -9};
int partial[4] = {7};
int nprimes;
int sum;
int last_prime;
int dot;
int partial_sum;

void main() {
    int i;
    int j;
    int t;
    int swapped;

    for (i = 2; i < 64; i++) {
        if (sieve[i] == 0) {
            primes[nprimes] = i;
            nprimes++;
            for (j = i * i; j < 64; j += i) {
                sieve[j] = 1;
            }
        }
    }
    sum = 0;
    for (i = 0; i < nprimes; i++) {
        sum += primes[i];
    }
    last_prime = primes[nprimes - 1];

    printf("primes: %d", primes[0]);
    for (i = 1; i < nprimes; i++) {
        printf(",%d", primes[i]);
    }
    printf("\n");
    printf("count=%d sum=%d last=%d\n", nprimes, sum, last_prime);

    // 3*2 - 1*3 + 4*5 - 1*7 + 5*11 - 9*13 = -46
    dot = 0;
    for (i = 0; i < 6; i++) {
        dot += weights[i] * primes[i];
    }
    // {7} fills the rest with zeros
    partial_sum = partial[0] + partial[1] + partial[2] + partial[3];
    printf("dot=%d partial_sum=%d\n", dot, partial_sum);

    // bubble sort weights ascending: -9,-1,-1,3,4,5
    do {
        swapped = 0;
        for (i = 0; i < 5; i++) {
            if (weights[i] > weights[i + 1]) {
                t = weights[i];
                weights[i] = weights[i + 1];
                weights[i + 1] = t;
                swapped = 1;
            }
        }
    } while (swapped);
    printf("sorted: %d,%d,%d,%d,%d,%d\n", weights[0], weights[1], weights[2], weights[3], weights[4], weights[5]);
}
