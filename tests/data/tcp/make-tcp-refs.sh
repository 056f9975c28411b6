#!/usr/bin/env bash
# make-tcp-refs.sh - tshark's per-packet TCP analysis for every capture the tests use, single pass
# (as wirelite's ordered stage sees packets: in order, once). Needs tshark 4.0.x.
#   tests/data/tcp/make-tcp-refs.sh [CAPTURE...]    # writes tests/data/tcp/expected/<capture>.tsv
. "$(dirname "${BASH_SOURCE[0]}")/../tshark-refs.sh"
FIELDS=(frame.number tcp.stream tcp.srcport tcp.seq tcp.ack tcp.nxtseq tcp.len tcp.time_relative tcp.time_delta
  tcp.analysis.initial_rtt tcp.analysis.ack_rtt tcp.analysis.acks_frame
  tcp.analysis.retransmission tcp.analysis.fast_retransmission tcp.analysis.spurious_retransmission
  tcp.analysis.out_of_order tcp.analysis.lost_segment tcp.analysis.ack_lost_segment
  tcp.analysis.duplicate_ack tcp.analysis.duplicate_ack_num tcp.analysis.zero_window
  tcp.analysis.window_full tcp.analysis.window_update tcp.analysis.keep_alive
  tcp.analysis.keep_alive_ack tcp.analysis.reused_ports tcp.flags)
printf '%s\n' "${FIELDS[@]}" > "$here/FIELDS.txt"
one() { fields_dump "$1" -Y tcp; }
for_each_capture "$@"
