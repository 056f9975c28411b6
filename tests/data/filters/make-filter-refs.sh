#!/usr/bin/env bash
# make-filter-refs.sh - tshark's verdicts for every filter in FILTERS.txt on every capture the
# tests use (tests/data/corpus/captures and samples/). Needs tshark 4.0.x (Debian 12: `tshark`).
#   tests/data/filters/make-filter-refs.sh [CAPTURE...]   # default: all; writes expected/<capture>.tsv
# Each output line: FILTER<TAB>comma-separated frame numbers (two-pass, -n, clean profile),
# the format of the corpus's filters.tsv.
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="$here/expected"; mkdir -p "$out"
cfg="$(mktemp -d)"; trap 'rm -rf "$cfg"' EXIT
export WIRESHARK_CONFIG_DIR="$cfg" LC_ALL=C TZ=UTC
one() {
  local f="$1" b; b="$(basename "$f")"
  : > "$out/$b.tsv.tmp"
  while IFS= read -r flt; do
    [ -z "$flt" ] && continue
    frames="$(tshark -r "$f" -n -2 -Y "$flt" -T fields -e frame.number 2>/dev/null | paste -sd, -)"
    printf '%s\t%s\n' "$flt" "$frames" >> "$out/$b.tsv.tmp"
  done < "$here/FILTERS.txt"
  mv "$out/$b.tsv.tmp" "$out/$b.tsv"
}
export -f one; export here out
tshark -v | head -1 > "$out/TSHARK_VERSION"
if [ $# -gt 0 ]; then printf '%s\n' "$@"; else ls "$root"/tests/data/corpus/captures/* "$root"/samples/*.pcap*; fi \
  | xargs -P "${JOBS:-2}" -I{} bash -c 'one "$1"' _ {}
echo "wrote $(ls "$out"/*.tsv | wc -l) reference files to $out"
