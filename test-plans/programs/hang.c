// A hung guest for the watchdog plan: after one console line it spins without any HAL call, so
// the firmware stops feeding the watchdog after GUEST_HANG_MS (1.5 s) and the IWDG resets the
// chip into SafeStop.

int spins;

void main() {
    printf("hanging\n");
    while (1) {
        spins++;
    }
}
