# tshark-refs.sh - sourced by the make-*-refs.sh scripts beside it: a clean tshark profile and
# locale, the calling script's folder as `here` with an `expected/` folder for its output, and
# for_each_capture, which runs the caller's one() on each capture. Needs tshark 4.0.x.
set -u
here="$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="$here/expected"
mkdir -p "$out"
cfg="$(mktemp -d)"
trap 'rm -rf "$cfg"' EXIT
export WIRESHARK_CONFIG_DIR="$cfg" LC_ALL=C TZ=UTC

# fields_dump CAPTURE TSHARK_ARGS...: the columns of $here/FIELDS.txt for the packets tshark
# selects with TSHARK_ARGS, into $out/<capture>.tsv.
fields_dump() {
  local f="$1" b; b="$(basename "$f")"; shift
  local args=() x
  for x in $(cat "$here/FIELDS.txt"); do args+=(-e "$x"); done
  tshark -r "$f" -n "$@" -T fields -E header=y -E separator=/t -E occurrence=a "${args[@]}" \
    > "$out/$b.tsv.tmp" 2>/dev/null
  mv "$out/$b.tsv.tmp" "$out/$b.tsv"
}

# for_each_capture [CAPTURE...]: one() on each given capture (default: every corpus capture and
# sample), $JOBS at a time (default 2).
for_each_capture() {
  export -f one fields_dump
  export here out
  tshark -v | head -1 > "$out/TSHARK_VERSION"
  if [ $# -gt 0 ]; then printf '%s\n' "$@"; else ls "$root"/tests/data/corpus/captures/* "$root"/samples/*.pcap*; fi \
    | xargs -P "${JOBS:-2}" -I{} bash -c 'one "$1"' _ {}
  echo "wrote $(ls "$out" | grep -vc TSHARK_VERSION) reference files to $out"
}
