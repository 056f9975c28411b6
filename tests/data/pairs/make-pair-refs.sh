#!/usr/bin/env bash
# make-pair-refs.sh - tshark's two-pass request/response pairing for ICMP, ICMPv6 and DNS, for
# every capture the tests use. Needs tshark 4.0.x.
#   tests/data/pairs/make-pair-refs.sh [CAPTURE...]    # writes tests/data/pairs/expected/<capture>.tsv
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="$here/expected"; mkdir -p "$out"
cfg="$(mktemp -d)"; trap 'rm -rf "$cfg"' EXIT
export WIRESHARK_CONFIG_DIR="$cfg" LC_ALL=C TZ=UTC
FIELDS=(frame.number icmp.type icmp.ident icmp.seq icmp.resp_in icmp.resp_to icmp.resptime icmp.no_resp
  icmpv6.type icmpv6.echo.identifier icmpv6.echo.sequence_number icmpv6.resp_in icmpv6.resp_to
  icmpv6.resptime icmpv6.no_resp
  dns.id dns.flags.response dns.qry.name dns.qry.type dns.flags.rcode dns.a dns.aaaa dns.cname
  dns.response_in dns.response_to dns.time dns.retransmission dns.retransmit_request_in
  dns.retransmit_response_in dns.unsolicited)
printf '%s\n' "${FIELDS[@]}" > "$here/FIELDS.txt"
one() {
  local f="$1" b; b="$(basename "$f")"
  local args=(); for x in $(cat "$here/FIELDS.txt"); do args+=(-e "$x"); done
  tshark -r "$f" -n -2 -Y 'icmp || icmpv6 || dns' -T fields -E header=y -E separator=/t \
    -E occurrence=a "${args[@]}" > "$out/$b.tsv.tmp" 2>/dev/null
  mv "$out/$b.tsv.tmp" "$out/$b.tsv"
}
export -f one; export here out
tshark -v | head -1 > "$out/TSHARK_VERSION"
if [ $# -gt 0 ]; then printf '%s\n' "$@"; else ls "$root"/tests/data/corpus/captures/* "$root"/samples/*.pcap*; fi \
  | xargs -P "${JOBS:-2}" -I{} bash -c 'one "$1"' _ {}
echo "wrote $(ls "$out"/*.tsv | wc -l) reference files to $out"
