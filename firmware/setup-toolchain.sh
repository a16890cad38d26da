#!/usr/bin/env bash
# Project-local Rust compiler + core sources for the STM32G474 firmware (thumbv7em-none-eabihf),
# from Debian bookworm(-security) `rustc-web` (see shared/reference/toolchain.md §1.1).
# Nothing is installed system-wide: the .debs are fetched with `apt-get download` and unpacked
# with `dpkg-deb -x` into <repo>/.toolchain/debian-rust (git-ignored). Idempotent: when the tree
# is already complete, it only prints the version.
#
# Usage: firmware/setup-toolchain.sh          (then: . .toolchain/debian-rust/env.sh)
# Env:   PREFIX=...   install elsewhere;  SKIP_APT_UPDATE=1  skip `apt-get update`.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=${PREFIX:-$ROOT/.toolchain/debian-rust}
R=$PREFIX/root/usr

write_env() {
  cat > "$PREFIX/env.sh" <<ENV
# Source me: the project-local Debian rustc for the firmware (firmware/setup-toolchain.sh).
export LD_LIBRARY_PATH=$R/lib/x86_64-linux-gnu:$R/lib/llvm-22/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}
export RUSTC=$R/bin/rustc RUSTDOC=$R/bin/rustdoc RUSTC_BOOTSTRAP=1
export PATH=$R/bin:\$PATH
ENV
}

check() {
  [ -x "$R/bin/rustc" ] && [ -e "$R/bin/rust-lld" ] && [ -f "$PREFIX/.complete" ] || return 1
  # shellcheck disable=SC1091
  . "$PREFIX/env.sh"
  "$RUSTC" -V >/dev/null 2>&1 || return 1
  test -f "$("$RUSTC" --print sysroot)/lib/rustlib/src/rust/library/core/src/lib.rs"
}

if check; then
  . "$PREFIX/env.sh"
  echo "toolchain present: $("$RUSTC" -V)  ($PREFIX)"
  exit 0
fi

command -v apt-get >/dev/null || { echo "setup-toolchain: needs apt-get (Debian bookworm)" >&2; exit 1; }
rm -rf "$PREFIX/root" "$PREFIX/.complete"
mkdir -p "$PREFIX/debs" "$PREFIX/root"
cd "$PREFIX/debs"
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi
if [ -z "${SKIP_APT_UPDATE:-}" ]; then
  $SUDO apt-get update -qq   # needs bookworm-security in the sources (Debian default)
fi
V=$(apt-cache policy rustc-web | awk '/Candidate:/{print $2}')
[ -n "$V" ] && [ "$V" != "(none)" ] || { echo "setup-toolchain: no rustc-web candidate (is bookworm-security in the apt sources?)" >&2; exit 1; }
MM=$(echo "$V" | sed -E 's/^([0-9]+:)?([0-9]+\.[0-9]+).*/\2/')   # e.g. 1.96
# The LLVM major version rustc-web links against (libllvmNN), and its lld.
LLVM=$(apt-cache depends rustc-web "libstd-rust-web-$MM" 2>/dev/null | awk '/Depends: libllvm[0-9]+/{sub("libllvm","",$2); print $2; exit}')
LLVM=${LLVM:-22}
echo "Debian rustc-web candidate: $V (libllvm$LLVM)"
PKGS="rustc-web libstd-rust-web-dev rust-web-src libstd-rust-web-$MM libllvm$LLVM lld-$LLVM"
rm -f ./*.deb
apt-get -qq -o APT::Sandbox::User=root download $PKGS
for f in *.deb; do dpkg-deb -x "$f" "$PREFIX/root"; done
# Only library/ of the rustc source tree is needed by -Zbuild-std (saves ~365 MB).
rm -rf "$PREFIX"/root/usr/src/rustc-*/src "$PREFIX"/root/usr/src/rustc-*/compiler "$PREFIX"/root/usr/share/doc
# rust-lld (the default linker of thumbv7em-none-eabihf) is lld-NN in Debian, normally shipped by rust-web-llvm.
ln -sf "lld-$LLVM" "$R/bin/rust-lld"
if [ ! -e "$R/bin/lld-$LLVM" ] && [ -e "$R/lib/llvm-$LLVM/bin/lld" ]; then
  ln -sf "../lib/llvm-$LLVM/bin/lld" "$R/bin/lld-$LLVM"
fi
rm -f ./*.deb
write_env
. "$PREFIX/env.sh"
"$RUSTC" -V
test -f "$("$RUSTC" --print sysroot)/lib/rustlib/src/rust/library/core/src/lib.rs" && echo "core source OK"
rust-lld -flavor gnu --version
touch "$PREFIX/.complete"
