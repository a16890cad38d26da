// The guest of the fault-path plan: it must still boot and run after the firmware recovered
// from a HardFault (state DEGRADED).

void main() {
    printf("guest runs after the fault\n");
}
