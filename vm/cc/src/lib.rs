//! ArduinoC → CockpitVM compiler (in progress).
