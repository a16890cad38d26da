#!/usr/bin/env bash
# Builds the firmware in release with the project-local toolchain and prints its footprint.
#   firmware/setup-toolchain.sh && firmware/stm32g474/build.sh
# Output: firmware/stm32g474/target/thumbv7em-none-eabihf/release/cockpit-firmware (ELF)
#
# Board profile (src/profile.rs): `--board weact` (the default) or `--board nucleo` as the first
# arguments. The NUCLEO-G474RE build has its own target dir, so both ELFs can exist:
#   firmware/stm32g474/target/nucleo/thumbv7em-none-eabihf/release/cockpit-firmware
# `--check` next (after `--board`, if any) type-checks only (`cargo check`, in the default target
# dir, no ELF; CI checks the Nucleo profile this way). Other arguments go to cargo
# (`--no-default-features` drops the test commands; the profile feature stays selected).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ENV=${TOOLCHAIN_ENV:-$HERE/../../.toolchain/debian-rust/env.sh}
[ -f "$ENV" ] || { echo "no toolchain: run firmware/setup-toolchain.sh first" >&2; exit 1; }
# shellcheck disable=SC1090
. "$ENV"   # RUSTC, LD_LIBRARY_PATH, RUSTC_BOOTSTRAP=1, PATH (rust-lld)
cd "$HERE"
BOARD=weact
if [ "${1:-}" = "--board" ]; then BOARD=${2:?"--board needs weact or nucleo"}; shift 2; fi
case "$BOARD" in
  weact) export CARGO_TARGET_DIR="$HERE/target" ;;
  nucleo) export CARGO_TARGET_DIR="$HERE/target/nucleo" ;;
  *) echo "build.sh: unknown board \`$BOARD\` (weact, nucleo)" >&2; exit 2 ;;
esac
CHECK=false
if [ "${1:-}" = "--check" ]; then CHECK=true; export CARGO_TARGET_DIR="$HERE/target"; shift; fi
# Exactly one profile feature: the default set (or none of it with --no-default-features) minus
# `board-weact`, plus the chosen board.
FEATURES="test-commands,board-$BOARD"
ARGS=()
for a in "$@"; do
  if [ "$a" = "--no-default-features" ]; then FEATURES="board-$BOARD"; else ARGS+=("$a"); fi
done
CARGO=(--release --no-default-features --features "$FEATURES" "${ARGS[@]}")
if $CHECK; then exec cargo check "${CARGO[@]}"; fi
cargo build "${CARGO[@]}"
ELF=$CARGO_TARGET_DIR/thumbv7em-none-eabihf/release/cockpit-firmware
echo "board: $BOARD"
echo "ELF: $ELF"
if command -v llvm-size >/dev/null; then SIZE=llvm-size
elif command -v arm-none-eabi-size >/dev/null; then SIZE=arm-none-eabi-size
else SIZE=""; fi
if [ -n "$SIZE" ]; then "$SIZE" -A -x "$ELF" | grep -Ev '^\.(debug|comment|ARM|symtab|strtab|shstrtab)' ; "$SIZE" -B "$ELF"; else readelf -S -W "$ELF"; fi
# Footprint: flash = .vector_table + .text + .rodata + .data (load image); RAM = .data + .bss + .uninit
# + the reserved no-init block + the stack reserve; CCM = .ccmram (the guest VM state).
python3 - "$ELF" <<'PY' 2>/dev/null || true
import struct, sys
d = open(sys.argv[1], 'rb').read()
shoff, = struct.unpack_from('<I', d, 0x20); shentsize, shnum, shstrndx = struct.unpack_from('<HHH', d, 0x2E)
secs = [struct.unpack_from('<IIIIIIIIII', d, shoff + i * shentsize) for i in range(shnum)]
strtab = secs[shstrndx]; name = lambda o: d[strtab[4] + o:d.index(b'\0', strtab[4] + o)].decode()
flash = ram = ccm = 0
for s in secs:
    n, typ, flags, addr, size = name(s[0]), s[1], s[2], s[3], s[5]
    if not flags & 2 or size == 0: continue          # SHF_ALLOC
    if 0x08000000 <= addr < 0x08080000: flash += size
    elif 0x20000000 <= addr < 0x20020000: ram += size
    elif 0x10000000 <= addr < 0x10008000: ccm += size
    if n == '.data': flash += size
print(f"footprint: flash {flash} B ({flash/1024:.1f} KiB of the 64 KiB hypervisor region), "
      f"static RAM {ram} B ({ram/1024:.1f} KiB, excl. stack), CCM {ccm} B ({ccm/1024:.1f} KiB)")
PY
