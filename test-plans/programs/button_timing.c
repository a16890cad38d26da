// A button on PC13 (logical pin 16, the user key; active low: pressed = LOW) mirrored on the LED
// (PC6, logical pin 13). The plan presses the key at 500 ms and releases it at 800 ms of board
// time. The program polls the key every 10 ms on a grid aligned to its start (time-triggered:
// each delay ends at the next multiple of 10 ms, plus the sub-ms phase of the first poll), so
// it sees each change at the first poll at or after it: up to one period (10 ms) late. The LED
// follows at once, so its edges mark the moments of detection; the times are printed at the end
// (console output takes board time, which would shift the polling grid).

int pressed_ms;
int released_ms;
int polls;

int next_poll;

// Waits until the next multiple of 10 ms of program time (millis()).
void wait_period() {
    next_poll = next_poll + 10;
    delay(next_poll - millis());
}

void main() {
    pinMode(LED_BUILTIN, OUTPUT);
    pinMode(16, INPUT_PULLUP);
    digitalWrite(LED_BUILTIN, LOW);

    while (digitalRead(16) == HIGH) {
        polls++;
        wait_period();
    }
    digitalWrite(LED_BUILTIN, HIGH);
    pressed_ms = millis();

    while (digitalRead(16) == LOW) {
        polls++;
        wait_period();
    }
    digitalWrite(LED_BUILTIN, LOW);
    released_ms = millis();

    printf("press %d\nrelease %d\npolls %d\n", pressed_ms, released_ms, polls);
}
