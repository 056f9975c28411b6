#!/usr/bin/env bash
# make-io-refs.sh - tshark's -z io,stat tables for `wirelite io`: every capture at a 1 s interval
# with three series (all frames, tcp, udp), for the captures at least 1 s long. Needs tshark 4.0.x.
#   tests/data/io/make-io-refs.sh [CAPTURE...]    # writes expected/<capture>.txt
. "$(dirname "${BASH_SOURCE[0]}")/../tshark-refs.sh"
one() { tshark -n -q -r "$1" -z 'io,stat,1,frame,tcp,udp' > "$out/$(basename "$1").txt" 2>/dev/null; }
for_each_capture "$@"
# tshark shrinks the interval of a capture shorter than 1 s to its duration: keep the others.
grep -L "Interval: *1 secs" "$out"/*.txt | xargs -r rm -f
