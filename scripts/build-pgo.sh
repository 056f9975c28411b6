#!/usr/bin/env bash
# build-pgo.sh [--test] - build wirelite optimized by profiles of its own runs, into
# target/pgo/release/wirelite:
#
#   1. build an instrumented wirelite (target/pgo/instrumented), which counts every branch taken;
#   2. run it over the shipped samples and the test corpus (samples/, tests/data/corpus): every
#      command, so no one capture or command steers the layout; never the benchmark's capture;
#   3. merge the counts (llvm-profdata) and build again with them (profile-guided optimization,
#      as CPython's --enable-optimizations does): hot paths laid out straight, cold ones moved
#      aside, inlining where the calls are hot;
#   4. with llvm-bolt (Debian's bolt-19): instrument that binary, run the same commands over the
#      same captures again, and let BOLT lay out its machine code by what they ran (as rustc's
#      and CPython's --enable-bolt builds do): hot blocks of all functions together, cold ones
#      split away. Without llvm-bolt, or if it fails, the build stops after step 3
#      and says so.
#
# The output is the same as `cargo build --release`'s binary; only the machine code differs. On
# the benchmark capture step 3 runs 7.7% fewer instructions for the list and 12.9% for stats
# (BENCHMARKS.md, stop 47); step 4 takes about a tenth off the time of stats and http, and
# leaves the list, tcp and conv as they were (stop 50). With --test it then runs the whole test
# suite (`cargo test --release`) with the same profile, its integration tests against the
# BOLT-optimized binary.
#
# llvm-profdata comes from the toolchain's llvm-tools component, which matches rustc's LLVM; if
# rustup cannot fetch it, from Debian's llvm-19 (which reads the profiles of rustc 1.95's LLVM 22).
# Run as root, the script installs llvm-19 and bolt-19 when they are missing.
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

# Install a Debian package when running as root; otherwise (or if apt fails) do nothing: the
# caller says what is missing.
debian_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$1" >&2 \
      || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$1" >&2; } \
      || true
  fi
}

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
  if [ ! -x /usr/lib/llvm-19/bin/llvm-profdata ]; then
    debian_install llvm-19
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

# Every command a user runs, over every capture we ship. Some corpus captures are truncated or
# damaged on purpose and exit 1 after showing what they hold: that path is trained too. Any
# other exit (2, a usage error: a command here gone stale; or a crash) stops the build, so a
# command that trains nothing cannot go unnoticed. `train BINARY [AFTER]` runs AFTER (a
# command) after each capture's runs, and fails on such an exit.
shopt -s nullglob
captures=(samples/*.pcap samples/*.pcapng tests/data/corpus/captures/*)
runs=0
train() {
  local trained=$1 after=${2:-}
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
        return 1
      fi
      runs=$((runs + 1))
    done
    if [ -n "$after" ]; then
      $after
    fi
  done
}
train "$out/instrumented/release/wirelite" || exit 1
if ! compgen -G "$profiles/*.profraw" > /dev/null; then
  echo "build-pgo.sh: the instrumented runs wrote no profile into $profiles" >&2
  exit 1
fi
"$profdata" merge -o "$profile" "$profiles"
echo "build-pgo.sh: profile of $runs runs over ${#captures[@]} captures: $profile" >&2

# The relocations kept in the binary (--emit-relocs) let BOLT move its code; they only make the
# file larger. The tests are built with the same flags, so that they share the build.
flags="-Cprofile-use=$profile -Clink-arg=-Wl,--emit-relocs"
RUSTFLAGS="$flags" cargo build --release --quiet --target-dir "$out"
binary=$out/release/wirelite
echo "build-pgo.sh: built $binary (profile-guided)" >&2

# Step 4. Cargo puts its own binary back at $binary on every build (a test build too), so
# BOLT's goes beside it and replaces it there after the tests, when it is the one they ran.
# BOLT only lays out the same code: if it fails, the build says why and keeps step 3's binary.
llvm=/usr/lib/llvm-19/bin
bolt_dir=$out/bolt
fdata=$bolt_dir/wirelite.fdata

# Each instrumented run writes its counts (4 MB) into runs/; they are merged capture by capture.
merge_runs() {
  local new=("$bolt_dir"/runs/*)
  if [ ${#new[@]} -eq 0 ] || [ -n "$bolt_failed" ]; then
    return
  fi
  local merged=()
  if [ -f "$fdata" ]; then
    merged=("$fdata") # the counts of the captures before
  fi
  if "$llvm/merge-fdata" "${new[@]}" "${merged[@]}" \
      > "$bolt_dir/merged.fdata" 2>> "$bolt_dir/merge.log"; then
    mv "$bolt_dir/merged.fdata" "$fdata"
  else
    bolt_failed="merge-fdata could not merge the counts (see $bolt_dir/merge.log)"
  fi
  rm -f "${new[@]}"
}

# Lays out $binary into $bolt_dir/wirelite, or sets bolt_failed to why it could not.
bolt_layout() {
  rm -rf "$bolt_dir"
  mkdir -p "$bolt_dir/runs"
  if ! "$llvm/llvm-bolt" "$binary" -o "$bolt_dir/instrumented" -instrument \
      -instrumentation-file="$bolt_dir/runs/run" -instrumentation-file-append-pid \
      > "$bolt_dir/instrument.log" 2>&1; then
    bolt_failed="llvm-bolt could not instrument the binary (see $bolt_dir/instrument.log)"
    return
  fi
  # Step 3's binary ran these same commands: a failure here is the instrumentation's.
  if ! train "$bolt_dir/instrumented" merge_runs; then
    bolt_failed="the binary BOLT instrumented failed a training run"
  fi
  if [ -n "$bolt_failed" ]; then
    return
  fi
  # The layout passes rustc's and CPython's BOLT builds use: blocks ordered by the paths taken
  # (ext-tsp), functions by their calls (cdsort), the cold parts of functions split away. The
  # line tables are moved with the code (BOLT drops them otherwise), for profilers.
  if ! "$llvm/llvm-bolt" "$binary" -o "$bolt_dir/wirelite" -data="$fdata" \
      -reorder-blocks=ext-tsp -reorder-functions=cdsort -split-functions -split-all-cold \
      -split-eh -update-debug-sections -dyno-stats > "$bolt_dir/optimize.log" 2>&1; then
    bolt_failed="llvm-bolt could not lay the binary out (see $bolt_dir/optimize.log)"
  fi
}

if [ ! -x "$llvm/llvm-bolt" ]; then
  debian_install bolt-19
fi
bolted=
bolt_failed=
if [ -x "$llvm/llvm-bolt" ] && [ -x "$llvm/merge-fdata" ]; then
  bolt_layout
  if [ -z "$bolt_failed" ]; then
    bolted=$bolt_dir/wirelite
    echo "build-pgo.sh: BOLT laid out $bolted by $runs runs over ${#captures[@]} captures" >&2
  else
    echo "build-pgo.sh: $bolt_failed; $binary is profile-guided only" >&2
  fi
else
  echo "build-pgo.sh: llvm-bolt not found (Debian's bolt-19): $binary is profile-guided only" >&2
fi

if $run_tests; then
  # The integration tests run the binary WIRELITE_BIN names (tests/support).
  RUSTFLAGS="$flags" WIRELITE_BIN="${bolted:-$binary}" \
    cargo test --release --quiet --target-dir "$out"
fi
if [ -n "$bolted" ]; then
  cp "$bolted" "$binary.bolt"
  mv "$binary.bolt" "$binary"
  echo "build-pgo.sh: $binary is the BOLT-optimized build" >&2
fi
