#!/usr/bin/env bash
# make-stats-refs.sh - what capinfos and tshark's protocol hierarchy say about each capture, for
# `wirelite stats`. Needs capinfos and tshark 4.0.x.
#   tests/data/stats/make-stats-refs.sh [CAPTURE...]    # writes expected/<capture>.txt:
#   `capinfos -M -S` (machine-readable numbers, epoch times), then `tshark -q -z io,phs`.
. "$(dirname "${BASH_SOURCE[0]}")/../tshark-refs.sh"
one() {
  local b; b="$(basename "$1")"
  { capinfos -M -S -c -s -d -u -a -e -y -i -z -x "$1"; tshark -n -q -z io,phs -r "$1"; } \
    2>/dev/null | sed "s|^File name: .*|File name:           $b|" > "$out/$b.txt"
}
for_each_capture "$@"
