#!/usr/bin/env bash
# make-tcp-refs.sh - tshark's per-packet TCP analysis for every capture the tests use, single pass
# (as wirelite's ordered stage sees packets: in order, once). Needs tshark 4.0.x.
#   tests/data/tcp/make-tcp-refs.sh [CAPTURE...]    # writes tests/data/tcp/expected/<capture>.tsv
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="$here/expected"; mkdir -p "$out"
cfg="$(mktemp -d)"; trap 'rm -rf "$cfg"' EXIT
export WIRESHARK_CONFIG_DIR="$cfg" LC_ALL=C TZ=UTC
FIELDS=(frame.number tcp.stream tcp.srcport tcp.seq tcp.ack tcp.nxtseq tcp.len tcp.time_relative tcp.time_delta
  tcp.analysis.initial_rtt tcp.analysis.ack_rtt tcp.analysis.acks_frame
  tcp.analysis.retransmission tcp.analysis.fast_retransmission tcp.analysis.spurious_retransmission
  tcp.analysis.out_of_order tcp.analysis.lost_segment tcp.analysis.ack_lost_segment
  tcp.analysis.duplicate_ack tcp.analysis.duplicate_ack_num tcp.analysis.zero_window
  tcp.analysis.window_full tcp.analysis.window_update tcp.analysis.keep_alive
  tcp.analysis.keep_alive_ack tcp.analysis.reused_ports tcp.flags)
printf '%s\n' "${FIELDS[@]}" > "$here/FIELDS.txt"
one() {
  local f="$1" b; b="$(basename "$f")"
  local args=(); for x in $(cat "$here/FIELDS.txt"); do args+=(-e "$x"); done
  tshark -r "$f" -n -Y tcp -T fields -E header=y -E separator=/t -E occurrence=a "${args[@]}" \
    > "$out/$b.tsv.tmp" 2>/dev/null
  mv "$out/$b.tsv.tmp" "$out/$b.tsv"
}
export -f one; export here out
tshark -v | head -1 > "$out/TSHARK_VERSION"
if [ $# -gt 0 ]; then printf '%s\n' "$@"; else ls "$root"/tests/data/corpus/captures/* "$root"/samples/*.pcap*; fi \
  | xargs -P "${JOBS:-2}" -I{} bash -c 'one "$1"' _ {}
echo "wrote $(ls "$out"/*.tsv | wc -l) reference files to $out"
