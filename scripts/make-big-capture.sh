#!/usr/bin/env bash
# make-big-capture.sh OUT [SIZE_MB] - capture at least SIZE_MB (default 1100) of real mixed lab
# traffic into OUT (pcap), for the benchmarks in BENCHMARKS.md.
#
# A web server (10.0.1.10: HTTP on 80 with keep-alive, a JSON echo app on 8080, DNS by dnsmasq,
# a "security group" dropping MySQL SYNs on 3306, nothing on 8081) and three clients
# (10.0.1.21-23) on one bridge, in network namespaces; real kernels, real sockets, tcpdump on the
# server's interface. The clients (scripts/loadgen.py) mix keep-alive and one-shot HTTP, DNS
# lookups, echo sessions, refused and dropped connections; each also pings the server. No address
# outside the namespaces is contacted. Run as root. Needs: iproute2, iptables, ethtool, tcpdump,
# dnsmasq, iputils-ping, python3.
set -euo pipefail

out="${1:?usage: make-big-capture.sh OUT [SIZE_MB]}"
size_mb="${2:-1100}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NS=(wb-sw wb-web wb-c1 wb-c2 wb-c3)
pids=()
tmp=""
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for ns in "${NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  [ -n "$tmp" ] && rm -rf "$tmp"
  return 0
}
trap cleanup EXIT INT TERM
for c in ip iptables ethtool tcpdump dnsmasq ping python3 timeout; do
  command -v "$c" >/dev/null || { echo "make-big-capture.sh: $c is required" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "make-big-capture.sh: run as root (network namespaces)" >&2; exit 2; }
cleanup
tmp="$(mktemp -d)"
x() { local ns="$1"; shift; ip netns exec "$ns" "$@"; }
bg() { local ns="$1"; shift; ip netns exec "$ns" "$@" >/dev/null 2>&1 & pids+=($!); }

for ns in "${NS[@]}"; do
  ip netns add "$ns"
  x "$ns" ip link set lo up
  x "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
x wb-sw ip link add br0 type bridge
x wb-sw ip link set br0 up
host() {
  local ns="$1" addr="$2" name="v${1#wb-}"
  ip link add "$name" type veth peer name "s-$name"
  ip link set "$name" netns "$ns"
  ip link set "s-$name" netns wb-sw
  x "$ns" ip link set "$name" name eth0
  x "$ns" ip addr add "$addr/24" dev eth0
  x "$ns" ip link set eth0 up
  x wb-sw ip link set "s-$name" master br0 up
  # Offloads off, so frames are what a wire would carry (no 64 KB super-segments).
  x "$ns" ethtool -K eth0 tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
  x wb-sw ethtool -K "s-$name" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
}
host wb-web 10.0.1.10
host wb-c1 10.0.1.21
host wb-c2 10.0.1.22
host wb-c3 10.0.1.23
# The security group: MySQL SYNs are dropped (clients retransmit them), 8081 is refused (RST).
x wb-web iptables -A INPUT -p tcp --dport 3306 -j DROP

life=900
bg wb-web timeout "$life" python3 "$here/loadgen.py" server 10.0.1.10 "$life"
bg wb-web timeout "$life" dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces \
  --listen-address=10.0.1.10 --address=/lab.example/10.0.1.10 --address=/missing.lab.example/ \
  --cache-size=0 --pid-file="$tmp/dnsmasq.pid"
sleep 1
x wb-web timeout "$life" tcpdump -q -i eth0 -s 0 -B 65536 -w "$out" 2>"$tmp/tcpdump.err" &
pids+=($!)
sleep 1
for i in 1 2 3; do
  bg "wb-c$i" timeout "$life" ping -q -i 0.01 10.0.1.10
  bg "wb-c$i" timeout "$life" python3 "$here/loadgen.py" client 10.0.1.10 "$life" "$i"
done
limit=$((size_mb * 1024 * 1024))
start=$SECONDS
while :; do
  sleep 2
  have=$(stat -c %s "$out" 2>/dev/null || echo 0)
  printf '\r%s MB of %s MB in %ss' "$((have / 1048576))" "$size_mb" "$((SECONDS - start))" >&2
  [ "$have" -ge "$limit" ] && break
  [ $((SECONDS - start)) -ge $((life - 30)) ] && { echo "make-big-capture.sh: too slow" >&2; exit 1; }
done
echo >&2
cleanup
trap - EXIT
cat "$tmp/tcpdump.err" 2>/dev/null | grep -i "dropped" >&2 || true
ls -l "$out"
