#!/usr/bin/env bash
# make-http-refs.sh - tshark's two-pass HTTP messages (the frame completing each request and
# response, with its pairing) for every capture the tests use. Needs tshark 4.0.x.
# tshark 4.0 leaves segments that arrive out of order out of reassembly unless told otherwise;
# wirelite always puts them back in order, so the reference is made with that setting on.
#   tests/data/http/make-http-refs.sh [CAPTURE...]    # writes tests/data/http/expected/<capture>.tsv
. "$(dirname "${BASH_SOURCE[0]}")/../tshark-refs.sh"
FIELDS=(frame.number tcp.stream http.request http.response http.request.method http.request.uri
  http.request.version http.response.version http.response.code http.response.phrase
  http.request_in http.response_in http.time http.content_length http.content_type http.host
  http.user_agent http.request.full_uri)
printf '%s\n' "${FIELDS[@]}" > "$here/FIELDS.txt"
one() { fields_dump "$1" -2 -o tcp.reassemble_out_of_order:TRUE -Y 'http.request || http.response'; }
for_each_capture "$@"
