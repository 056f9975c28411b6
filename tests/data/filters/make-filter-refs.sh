#!/usr/bin/env bash
# make-filter-refs.sh - tshark's verdicts for every filter in FILTERS.txt on every capture the
# tests use (tests/data/corpus/captures and samples/). Needs tshark 4.0.x (Debian 12: `tshark`).
#   tests/data/filters/make-filter-refs.sh [CAPTURE...]   # default: all; writes expected/<capture>.tsv
# Each output line: FILTER<TAB>comma-separated frame numbers (two-pass, -n, clean profile),
# the format of the corpus's filters.tsv.
. "$(dirname "${BASH_SOURCE[0]}")/../tshark-refs.sh"
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
for_each_capture "$@"
