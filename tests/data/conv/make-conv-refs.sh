#!/usr/bin/env bash
# make-conv-refs.sh - tshark's conversation and endpoint tables (-z conv,X and -z endpoints,X for
# eth, ip, ipv6, tcp and udp) for every capture the tests use, one file per capture with every
# table. Needs tshark 4.0.x.
#   tests/data/conv/make-conv-refs.sh [CAPTURE...]    # writes tests/data/conv/expected/<capture>.txt
. "$(dirname "${BASH_SOURCE[0]}")/../tshark-refs.sh"
one() {
  local z=() k
  for k in eth ip ipv6 tcp udp; do z+=(-z "conv,$k" -z "endpoints,$k"); done
  tshark -r "$1" -n -q "${z[@]}" > "$out/$(basename "$1").txt.tmp" 2>/dev/null
  mv "$out/$(basename "$1").txt.tmp" "$out/$(basename "$1").txt"
}
for_each_capture "$@"
