#!/usr/bin/env bash
# make-pair-refs.sh - tshark's two-pass request/response pairing for ICMP, ICMPv6 and DNS, for
# every capture the tests use. Needs tshark 4.0.x.
#   tests/data/pairs/make-pair-refs.sh [CAPTURE...]    # writes tests/data/pairs/expected/<capture>.tsv
. "$(dirname "${BASH_SOURCE[0]}")/../tshark-refs.sh"
FIELDS=(frame.number icmp.type icmp.ident icmp.seq icmp.resp_in icmp.resp_to icmp.resptime icmp.no_resp
  icmpv6.type icmpv6.echo.identifier icmpv6.echo.sequence_number icmpv6.resp_in icmpv6.resp_to
  icmpv6.resptime icmpv6.no_resp
  dns.id dns.flags.response dns.qry.name dns.qry.type dns.flags.rcode dns.a dns.aaaa dns.cname
  dns.response_in dns.response_to dns.time dns.retransmission dns.retransmit_request_in
  dns.retransmit_response_in dns.unsolicited udp.stream)
printf '%s\n' "${FIELDS[@]}" > "$here/FIELDS.txt"
one() { fields_dump "$1" -2 -Y 'icmp || icmpv6 || dns'; }
for_each_capture "$@"
