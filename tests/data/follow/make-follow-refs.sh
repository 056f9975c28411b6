#!/usr/bin/env bash
# make-follow-refs.sh - tshark's Follow TCP Stream output for the connections tests/follow.rs
# compares (tshark 4.0.x): tests/data/follow/<capture>.<stream>.<format>.txt, where <stream> is
# the tcp.stream number, or udpN for udp.stream N (listed below as udp:N).
set -eu
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
cfg="$(mktemp -d)"; trap 'rm -rf "$cfg"' EXIT
export WIRESHARK_CONFIG_DIR="$cfg" LC_ALL=C TZ=UTC
while read -r path stream formats; do
  proto=tcp n="$stream" tag="$stream"
  case "$stream" in udp:*) proto=udp n="${stream#udp:}" tag="udp$n" ;; esac
  for fmt in $formats; do
    tshark -r "$root/$path" -q -z "follow,$proto,$fmt,$n" 2>/dev/null \
      > "$here/$(basename "$path").$tag.$fmt.txt"
  done
done <<'LIST'
samples/lab-http.pcap 0 raw ascii hex
samples/lab-dns.pcap udp:0 raw ascii hex
samples/lab-mixed.pcapng udp:3 raw ascii
samples/lab-echo-8080.pcap 0 raw ascii hex
tests/data/corpus/captures/arkime__wireshark-retrans.pcap 0 raw ascii hex
tests/data/corpus/captures/zeek__tcp-ctu-64702-888.pcap 0 raw ascii hex
tests/data/corpus/captures/zeek__tcp-retransmit-fast009.pcap 0 raw ascii hex
tests/data/corpus/captures/zeek__tcp-handshake-reorder.pcap 0 raw ascii hex
tests/data/corpus/captures/zeek__http-get.pcap 0 raw ascii hex
LIST
echo "wrote $(ls "$here"/*.txt | wc -l) follow references"
