// Blinky: the LED on PC6 (logical pin 13) blinks 4 times, 500 ms on and 500 ms off.
// Text is printed only while the LED is off, so each high pulse is exactly one delay(500).

int blinks;

void main() {
    printf("Blinky start\n");
    pinMode(LED_BUILTIN, OUTPUT);
    printf("PC6 configured as output\n");
    for (blinks = 0; blinks < 4; blinks++) {
        digitalWrite(LED_BUILTIN, HIGH);
        delay(500);
        digitalWrite(LED_BUILTIN, LOW);
        printf("blink %d\n", blinks + 1);
        delay(500);
    }
    printf("Blinky done: %d blinks\n", blinks);
}
