// GPIO in and out: reading back an output pin, an input with pull-down (PC13, the user key pin,
// which the plan drives high), and millis() across a delay.

int led_high;
int led_low;
int button;
int elapsed;

void main() {
    unsigned start;

    pinMode(LED_BUILTIN, OUTPUT);
    pinMode(16, INPUT_PULLDOWN);          // PC13
    digitalWrite(LED_BUILTIN, HIGH);
    led_high = digitalRead(LED_BUILTIN);  // an output reads its own level: 1
    digitalWrite(LED_BUILTIN, LOW);
    led_low = digitalRead(LED_BUILTIN);   // 0
    button = digitalRead(16);             // pulled down, but driven high: 1

    start = millis();
    delay(250);
    elapsed = millis() - start;           // 250

    digitalWrite(LED_BUILTIN, HIGH);      // leave the LED on
    printf("led %d %d button %d elapsed %d\n", led_high, led_low, button, elapsed);
}
