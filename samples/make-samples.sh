#!/usr/bin/env bash
# make-samples.sh - regenerate the sample captures in samples/ from real traffic.
#
# Builds a small lab from Linux network namespaces joined by veth pairs: real kernels, real
# servers and clients, and no address outside the lab is ever contacted. Run as root:
#
#   sudo samples/make-samples.sh            # writes samples/*.pcap
#
# Needs: iproute2 (ip netns), tcpdump, ethtool, ping, curl, python3. Every step is bounded in
# count and time; the lab is torn down at the end, also on failure or Ctrl-C.
#
# The lab (the course's public subnet):
#   wl-client 10.0.1.100 --veth-- wl-web 10.0.1.10 (HTTP on 80: python3 http.server)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NS_CLIENT=wl-client
NS_WEB=wl-web
WEB=10.0.1.10
CLIENT=10.0.1.100
pids=()
www=""

cleanup() {
  for p in "${pids[@]:-}"; do
    if [ -n "$p" ]; then kill "$p" 2>/dev/null || true; fi
  done
  wait 2>/dev/null || true
  ip netns del "$NS_CLIENT" 2>/dev/null || true
  ip netns del "$NS_WEB" 2>/dev/null || true
  if [ -n "$www" ]; then rm -rf "$www"; fi
}
trap cleanup EXIT INT TERM

need() { command -v "$1" >/dev/null || { echo "make-samples.sh: $1 is required" >&2; exit 2; }; }
for c in ip tcpdump ethtool ping curl python3 timeout; do need "$c"; done
[ "$(id -u)" = 0 ] || { echo "make-samples.sh: run as root (network namespaces)" >&2; exit 2; }

cleanup
ip netns add "$NS_CLIENT"
ip netns add "$NS_WEB"
ip link add veth-client type veth peer name veth-web
ip link set veth-client netns "$NS_CLIENT"
ip link set veth-web netns "$NS_WEB"
ip -n "$NS_CLIENT" addr add "$CLIENT/24" dev veth-client
ip -n "$NS_WEB" addr add "$WEB/24" dev veth-web
for ns in "$NS_CLIENT" "$NS_WEB"; do
  # The course lab is IPv4; IPv6 autoconfiguration chatter (MLD, router solicitations) would
  # only clutter the lesson captures.
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$ns" link set lo up
  dev=$([ "$ns" = "$NS_CLIENT" ] && echo veth-client || echo veth-web)
  ip -n "$ns" link set "$dev" up
  # Offloads off, so the capture shows frames as they would be on a wire (no 64 KB super-segments).
  ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
done

# The web server: a real HTTP/1.0 server serving a small directory.
www="$(mktemp -d)"
printf '<html><body><h1>wirelite lab web server</h1></body></html>\n' > "$www/index.html"
ip netns exec "$NS_WEB" timeout 60 python3 -m http.server 80 --bind "$WEB" --directory "$www" \
  >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do   # wait up to 5 s for the listener
  ip netns exec "$NS_CLIENT" timeout 1 bash -c "echo > /dev/tcp/$WEB/80" 2>/dev/null && break
  sleep 0.1
done

# capture NAME -- COMMANDS...: run the commands in the client namespace while tcpdump records.
capture() {
  local name="$1"; shift; shift
  local out="$here/$name"
  ip netns exec "$NS_CLIENT" ip neigh flush all
  ip netns exec "$NS_WEB" ip neigh flush all
  ip netns exec "$NS_CLIENT" timeout 30 tcpdump -i veth-client -s 0 -U -w "$out" \
    2>/dev/null &
  local tpid=$!
  sleep 1
  ip netns exec "$NS_CLIENT" "$@" >/dev/null 2>&1 || true
  sleep 1
  kill -INT "$tpid" 2>/dev/null || true
  wait "$tpid" 2>/dev/null || true
  echo "wrote $out ($(stat -c %s "$out") bytes)"
}

# lab-http.pcap: ARP, a ping, then a page and a 404 over fresh HTTP connections (handshake,
# request, response, FIN teardown each).
capture lab-http.pcap -- bash -c "
  ping -c 2 -i 0.2 -W 1 $WEB
  curl -s --max-time 5 http://$WEB/index.html
  curl -s --max-time 5 http://$WEB/missing.html
"
