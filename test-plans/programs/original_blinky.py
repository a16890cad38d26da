#!/usr/bin/env python3
"""Writes original_blinky.conc: an original CockpitVM page-63 "CONC" image, byte for byte in
the layout the original firmware's auto-execution loader reads (reference §3.1), with the code
the original compiler generated for a blinky setup() (reference §5.2): CALL setup; HALT; then
setup's straight-line body ending in RET. Like every original image, delay(500) is emitted as
PUSH 500; PUSH 16960; MUL; DELAY, and the original VM divides by 17000: 8,480,000 / 17000 =
498 ms per delay. Strings hold real newline bytes (the loader keeps bytes as they are).

Run it from this folder to regenerate the image: python3 original_blinky.py
"""

import binascii
import struct

HALT, PUSH, MUL, CALL, RET = 0x00, 0x01, 0x05, 0x08, 0x09
DIGITAL_WRITE, DELAY, PIN_MODE, PRINTF = 0x10, 0x14, 0x17, 0x18


def insn(op, imm=0, flags=0):
    return struct.pack("<BBH", op, flags, imm)


strings = [b"Original CONC image running\n", b"Guest program execution complete\n"]
code = [insn(CALL, 2), insn(HALT)]
code += [insn(PUSH, 0), insn(PRINTF, 0)]                        # printf(strings[0])
code += [insn(PUSH, 13), insn(PUSH, 1), insn(PIN_MODE)]          # pinMode(13, 1)
for _ in range(3):
    for level in (1, 0):
        code += [insn(PUSH, 13), insn(PUSH, level), insn(DIGITAL_WRITE)]
        code += [insn(PUSH, 500), insn(PUSH, 16960), insn(MUL), insn(DELAY)]
code += [insn(PUSH, 0), insn(PRINTF, 1), insn(RET)]              # printf(strings[1])

image = struct.pack("<HH4x", len(code), len(strings)) + b"".join(code)
for s in strings:
    image += struct.pack("<I", len(s) + 1) + s + b"\0"
header = struct.pack(
    "<IIIHH", 0x434F4E43, len(image), len(code), len(strings), binascii.crc_hqx(image, 0xFFFF)
)
with open("original_blinky.conc", "wb") as f:
    f.write(header + image)
print(f"original_blinky.conc: {len(code)} instructions, {len(header) + len(image)} bytes")
