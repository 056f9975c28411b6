#!/usr/bin/env bash
# make-twopass-refs.sh - tshark's two-pass packet list (`tshark -n -2 -r F`), for the Info text
# that only a second pass knows: "(reply in N)", "(no response found!)", "[Reassembled in #N]".
# Only lines with such text are kept. Needs tshark 4.0.x.
#   tests/data/twopass/make-twopass-refs.sh [CAPTURE...]    # writes expected/<capture>.txt
. "$(dirname "${BASH_SOURCE[0]}")/../tshark-refs.sh"
one() {
  tshark -n -2 -r "$1" 2>/dev/null \
    | grep -E '\((reply|request) in [0-9]+\)|\(no response found!\)|Reassembled in #|Fragmented IP|IPv6 fragment' \
    > "$out/$(basename "$1").txt"
}
for_each_capture "$@"
