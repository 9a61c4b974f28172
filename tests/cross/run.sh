#!/usr/bin/env bash
# tests/cross/run.sh - every C file of common/, jobs/ and tests/ compiled for
# aarch64 (Graviton, Grace, A64FX nodes) with the build's warnings as errors,
# by Debian's cross compiler. It links nothing and runs nothing: it catches
# what only compiles on x86 (an x86 builtin, an intrinsic outside its
# #if) and what -Wextra sees differently where char is unsigned (a test of
# a char against 0 that can then never hold). What runs differently there
# is for the portable fuzz replay to catch (make check-fuzz).
#
# The libraries' headers are this machine's (x86-64): their declarations are
# the same on aarch64; only their configuration headers differ, in sizes.
# -idirafter puts them after the cross compiler's own C library headers.
set -uo pipefail
cd "$(dirname "$0")/../.."
CC=aarch64-linux-gnu-gcc
if ! command -v "$CC" > /dev/null; then
  echo "  FAIL cross: $CC not found (scripts/install-deps.sh installs gcc-aarch64-linux-gnu)"
  exit 1
fi
inc=()
for d in $(mpicc --showme:incdirs) $(pkg-config --cflags-only-I hdf5-openmpi gsl openblas libcrypto jansson libdeflate zlib cmocka | sed 's/-I//g') \
  /usr/include "/usr/include/$(gcc -dumpmachine)"; do
  inc+=(-idirafter "$d")
done
jobinc=()
for j in jobs/*/; do jobinc+=(-I"${j%/}"); done
T=$(mktemp -d /tmp/precis-cross.XXXXXX)
trap 'rm -rf "$T"' EXIT
files=(common/*.c jobs/*/*.c tests/unit/*.c tests/mpi/*.c tests/fuzz/*.c tests/*.c)
printf '%s\n' "${files[@]}" | xargs -P "$(nproc)" -I{} sh -c \
  'cc=$0 t=$1 f=$2; shift 2; "$cc" -std=gnu11 -O2 -Wall -Wextra -Werror -Icommon "$@" -c "$f" -o /dev/null \
     2> "$t/$(echo "$f" | tr / _).err" || echo "$f" >> "$t/failed"' \
  "$CC" "$T" {} "${jobinc[@]}" "${inc[@]}"
if [ -s "$T/failed" ]; then
  while read -r f; do
    echo "  FAIL cross: $f does not compile for aarch64"
    grep -E 'error|warning' "$T/$(echo "$f" | tr / _).err" | head -5
  done < "$T/failed"
  exit 1
fi
echo "  ok   cross: ${#files[@]} C files compile for aarch64 ($($CC -dumpversion)), warnings as errors"
