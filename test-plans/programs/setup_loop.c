// setup() + loop(): loop() toggles PC7 (logical pin 14) every 100 ms and counts its runs.
// The program never ends by itself; the plan's virtual-time budget stops it.

int iterations;
int level;

void setup() {
    pinMode(14, OUTPUT);
    printf("setup done\n");
}

void loop() {
    iterations++;
    level = !level;
    digitalWrite(14, level);
    delay(100);
}
