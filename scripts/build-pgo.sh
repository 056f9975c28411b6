#!/usr/bin/env bash
# build-pgo.sh [--test] - build wirelite optimized by a profile of its own runs (profile-guided
# optimization, as CPython's --enable-optimizations does), into target/pgo/release/wirelite.
#
#   1. build an instrumented wirelite (target/pgo/instrumented), which counts every branch taken;
#   2. run it over the shipped samples and the test corpus (samples/, tests/data/corpus): every
#      command, so no one capture or command steers the layout; never the benchmark's capture;
#   3. merge the counts (llvm-profdata) and build again with them: hot paths laid out straight,
#      cold ones moved aside, inlining where the calls are hot.
#
# The output is the same as `cargo build --release`'s binary; only the machine code differs. On
# the benchmark capture it runs 7.7% fewer instructions for the list and 12.9% for stats
# (BENCHMARKS.md, stop 47). With --test it then runs the whole test suite compiled with the
# same profile (`cargo test --release`).
#
# llvm-profdata comes from the toolchain's llvm-tools component, which matches rustc's LLVM; if
# rustup cannot fetch it, from Debian's llvm-19 (which reads the profiles of rustc 1.95's LLVM 22).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/target/pgo
profiles=$out/profiles
profile=$out/wirelite.profdata

run_tests=false
case "${1:-}" in
  --test) run_tests=true ;;
  "") ;;
  *) echo "usage: scripts/build-pgo.sh [--test]" >&2; exit 2 ;;
esac

profdata_tool() {
  local tools
  tools="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin"
  if [ ! -x "$tools/llvm-profdata" ] && command -v rustup >/dev/null; then
    rustup component add llvm-tools >&2 || true
  fi
  if [ -x "$tools/llvm-profdata" ]; then
    echo "$tools/llvm-profdata"
    return
  fi
  if [ ! -x /usr/lib/llvm-19/bin/llvm-profdata ] && [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q llvm-19 >&2 \
      || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q llvm-19 >&2; } \
      || true
  fi
  if [ -x /usr/lib/llvm-19/bin/llvm-profdata ]; then
    echo /usr/lib/llvm-19/bin/llvm-profdata
    return
  fi
  echo "build-pgo.sh: llvm-profdata not found: run 'rustup component add llvm-tools'" \
    "or install Debian's llvm-19" >&2
  exit 2
}
profdata=$(profdata_tool)

rm -rf "$profiles"
mkdir -p "$profiles"
RUSTFLAGS="-Cprofile-generate=$profiles" \
  cargo build --release --quiet --target-dir "$out/instrumented"
trained=$out/instrumented/release/wirelite

# Every command a user runs, over every capture we ship. Some corpus captures are truncated or
# damaged on purpose and exit 1 after showing what they hold: that path is trained too. Any
# other exit (2, a usage error: a command here gone stale; or a crash) stops the build, so a
# command that trains nothing cannot go unnoticed.
shopt -s nullglob
captures=(samples/*.pcap samples/*.pcapng tests/data/corpus/captures/*)
runs=0
for f in "${captures[@]}"; do
  for args in "list" "list -Y tcp.port==80" "list -Y tcp --count" "list -V" "list -T json" \
      "list -T fields -e frame.number -e ip.src -e tcp.stream -e http.request.uri" \
      "tcp" "conv --by tcp" "conv --by ip" "stats" "http" "dns" "ping" "endpoints" "io"; do
    status=0
    # shellcheck disable=SC2086 # the arguments are split on purpose
    "$trained" $args "$f" > /dev/null 2>&1 || status=$?
    if [ "$status" -gt 1 ]; then
      echo "build-pgo.sh: 'wirelite $args $f' exited with $status" >&2
      exit 1
    fi
    runs=$((runs + 1))
  done
done
if ! compgen -G "$profiles/*.profraw" > /dev/null; then
  echo "build-pgo.sh: the instrumented runs wrote no profile into $profiles" >&2
  exit 1
fi
"$profdata" merge -o "$profile" "$profiles"
echo "build-pgo.sh: profile of $runs runs over ${#captures[@]} captures: $profile" >&2

RUSTFLAGS="-Cprofile-use=$profile" cargo build --release --quiet --target-dir "$out"
echo "build-pgo.sh: built $out/release/wirelite" >&2
if $run_tests; then
  RUSTFLAGS="-Cprofile-use=$profile" cargo test --release --quiet --target-dir "$out"
fi
