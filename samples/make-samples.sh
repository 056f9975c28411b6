#!/usr/bin/env bash
# make-samples.sh - build the course lab from Linux network namespaces and capture its traffic.
#
# Real kernels, servers and clients; no address outside the lab is ever contacted. Run as root:
#
#   sudo samples/make-samples.sh          # rewrites the captures in samples/
#   sudo ONLY="lab-oneway.pcap" samples/make-samples.sh   # only the named captures
#
# Needs (Debian packages): iproute2, iptables, ethtool, tcpdump, tshark (dumpcap, for pcapng),
# iputils-ping, curl, openssh-server, openssh-client, dnsmasq, bind9-dnsutils, python3.
# Every step is bounded in count and time; the lab is torn down at the end, also on failure or
# Ctrl-C. Captures are real, so timestamps, ports and sequence numbers change from run to run:
# after regenerating, update samples/answers.md (the tests check it against the captures).
#
# The lab (a cloud VPC 10.0.0.0/16 and a piece of "internet", all behind one router):
#
#   public subnet 10.0.1.0/24          private subnet 10.0.2.0/24     "internet" 203.0.113.0/24
#   web  10.0.1.10  HTTP 80,            db   10.0.2.10  MySQL 3306     laptop  203.0.113.10
#                   echo 8080,                                         dns     203.0.113.53 (dnsmasq)
#                   sshd 22 and 12345                                  inetweb 203.0.113.80 HTTP 80
#   nat  10.0.1.20  (masquerade for the private subnet)
#           \__________ router: 10.0.1.1 | 10.0.2.1 | 203.0.113.1 __________/
#
# The private subnet reaches the internet only through the NAT host (policy routing on the
# router), as an AWS private subnet through a NAT instance. iptables rules in web and db stand in
# for security groups.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lab="$here/lab"
NS=(wl-router wl-web wl-nat wl-db wl-laptop wl-dns wl-inetweb)
pids=()
tmp=""

cleanup() {
  for p in "${pids[@]:-}"; do
    if [ -n "$p" ]; then kill "$p" 2>/dev/null || true; fi
  done
  wait 2>/dev/null || true
  for ns in "${NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  if [ -n "$tmp" ]; then rm -rf "$tmp"; fi
}
trap cleanup EXIT INT TERM

need() { command -v "$1" >/dev/null || { echo "make-samples.sh: $1 is required" >&2; exit 2; }; }
for c in ip iptables ethtool tcpdump dumpcap ping curl ssh ssh-keygen dnsmasq dig nslookup python3 timeout; do
  need "$c"
done
[ -x /usr/sbin/sshd ] || { echo "make-samples.sh: /usr/sbin/sshd is required (openssh-server)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "make-samples.sh: run as root (network namespaces)" >&2; exit 2; }

cleanup
tmp="$(mktemp -d)"
chmod 755 "$tmp"
# Run in a namespace. Never background a shell function (`x ... &`): the subshell would inherit
# the INT/TERM trap, and stopping it would tear the lab down; background `ip netns exec` instead.
x() { local ns="$1"; shift; ip netns exec "$ns" "$@"; }
bg() { local ns="$1"; shift; ip netns exec "$ns" "$@" >/dev/null 2>&1 & pids+=($!); }

# ---- topology
for ns in "${NS[@]}"; do
  ip netns add "$ns"
  x "$ns" ip link set lo up
  # The course is about IPv4; IPv6 autoconfiguration chatter would only clutter the lessons.
  x "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
x wl-router sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 \
  net.ipv4.conf.default.send_redirects=0 net.ipv4.conf.all.rp_filter=0
for br in br-pub:10.0.1.1/24 br-priv:10.0.2.1/24 br-inet:203.0.113.1/24; do
  x wl-router ip link add "${br%%:*}" type bridge
  x wl-router ip addr add "${br#*:}" dev "${br%%:*}"
  x wl-router ip link set "${br%%:*}" up
done

# host NS NAME ADDR/PREFIX GATEWAY BRIDGE: a veth from the host namespace to a router bridge.
host() {
  local ns="$1" name="$2" addr="$3" gw="$4" br="$5"
  ip link add "$name" type veth peer name "r-$name"
  ip link set "$name" netns "$ns"
  ip link set "r-$name" netns wl-router
  x "$ns" ip link set "$name" name eth0
  x "$ns" ip addr add "$addr" dev eth0
  x "$ns" ip link set eth0 up
  x wl-router ip link set "r-$name" master "$br" up
  x "$ns" ip route add default via "$gw"
  # Offloads off, so captures show frames as a wire would carry them.
  x "$ns" ethtool -K eth0 tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
  x wl-router ethtool -K "r-$name" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
}
host wl-web web 10.0.1.10/24 10.0.1.1 br-pub
host wl-nat nat 10.0.1.20/24 10.0.1.1 br-pub
host wl-db db 10.0.2.10/24 10.0.2.1 br-priv
host wl-laptop laptop 203.0.113.10/24 203.0.113.1 br-inet
host wl-dns dns 203.0.113.53/24 203.0.113.1 br-inet
host wl-inetweb inetweb 203.0.113.80/24 203.0.113.1 br-inet

# The private subnet's internet traffic goes through the NAT host, which masquerades it.
x wl-router ip rule add from 10.0.2.0/24 to 203.0.113.0/24 lookup 100 priority 100
x wl-router ip route add default via 10.0.1.20 dev br-pub table 100
x wl-nat sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 \
  net.ipv4.conf.default.send_redirects=0 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0
x wl-nat iptables -t nat -A POSTROUTING -s 10.0.2.0/24 ! -d 10.0.0.0/16 -o eth0 -j MASQUERADE

# ---- security groups
# web: HTTP, the echo app, ssh (22, and 12345 for the "moved ssh" lesson) and ICMP from anywhere;
# port 8081 is open in the group but nothing listens (the "refused" lesson).
sg_web() {
  x wl-web iptables -F INPUT
  x wl-web iptables -A INPUT -i lo -j ACCEPT
  x wl-web iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
  x wl-web iptables -A INPUT -p icmp -j ACCEPT
  x wl-web iptables -A INPUT -p tcp -m multiport --dports 80,8080,8081,12345 -j ACCEPT
  if [ "$1" = ssh22 ]; then x wl-web iptables -A INPUT -p tcp --dport 22 -j ACCEPT; fi
  x wl-web iptables -P INPUT DROP
}
sg_web ssh22
# db: MySQL from the public subnet, ping only from the web server.
x wl-db iptables -A INPUT -i lo -j ACCEPT
x wl-db iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
x wl-db iptables -A INPUT -p tcp --dport 3306 -s 10.0.1.0/24 -j ACCEPT
x wl-db iptables -A INPUT -p icmp --icmp-type echo-request -s 10.0.1.10 -j ACCEPT
x wl-db iptables -P INPUT DROP

# ---- services (each ends by itself within LIFE seconds)
LIFE=600
# A TXT record too long for one packet: 12 strings of 240 bytes, about 3 KB with EDNS.
BIG_TXT=$(for i in $(seq -w 1 12); do printf 'part-%s-%0235d,' "$i" 0; done)
BIG_TXT=${BIG_TXT%,}
mkdir -p "$tmp/www" "$tmp/inetwww"
cat > "$tmp/www/index.html" <<'HTML'
<!doctype html>
<html><head><title>Lab web server</title><link rel="stylesheet" href="style.css"></head>
<body><h1>Welcome to the course lab web server (10.0.1.10)</h1></body></html>
HTML
printf 'body { font-family: sans-serif; }\nh1 { color: #246; }\n' > "$tmp/www/style.css"
printf '{"service": "inventory", "db": "10.0.2.10:3306", "status": "ok"}\n' > "$tmp/www/status.json"
printf '<html><body>example.internet page for the NAT lesson</body></html>\n' > "$tmp/inetwww/index.html"
bg wl-web timeout "$LIFE" python3 -m http.server 80 --bind 10.0.1.10 --protocol HTTP/1.1 --directory "$tmp/www"
bg wl-web timeout "$LIFE" python3 "$lab/echo.py" 10.0.1.10 8080 "$LIFE"
bg wl-db timeout "$LIFE" python3 "$lab/mysqld.py" 10.0.2.10 3306 "$LIFE"
bg wl-inetweb timeout "$LIFE" python3 -m http.server 80 --bind 203.0.113.80 --directory "$tmp/inetwww"
bg wl-dns timeout "$LIFE" dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces \
  --listen-address=203.0.113.53 --local=/lab.example/ --domain=lab.example \
  --host-record=web.lab.example,10.0.1.10,2001:db8:1::10 --host-record=nat.lab.example,10.0.1.20 \
  --host-record=db.lab.example,10.0.2.10 --host-record=www.example.net,203.0.113.80 \
  --cname=www.lab.example,web.lab.example --txt-record=big.lab.example,"$BIG_TXT" \
  --edns-packet-max=4096 \
  --pid-file="$tmp/dnsmasq.pid"

# sshd on the web server, ports 22 and 12345, key login only.
mkdir -p /run/sshd "$tmp/ssh"
ssh-keygen -q -t ed25519 -N '' -f "$tmp/ssh/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$tmp/ssh/student_key" -C student@laptop
cp "$tmp/ssh/student_key.pub" "$tmp/ssh/authorized_keys"
cat > "$tmp/ssh/sshd_config" <<EOF2
ListenAddress 10.0.1.10
Port 22
Port 12345
HostKey $tmp/ssh/host_key
AuthorizedKeysFile $tmp/ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PidFile none
EOF2
bg wl-web timeout "$LIFE" /usr/sbin/sshd -D -e -f "$tmp/ssh/sshd_config"
SSH=(ssh -i "$tmp/ssh/student_key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
     -o BatchMode=yes -o ConnectTimeout=7 -o LogLevel=ERROR)

wait_port() {  # NS HOST PORT: up to 5 s for a listener
  for _ in $(seq 50); do
    x "$1" timeout 1 bash -c "echo > /dev/tcp/$2/$3" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "make-samples.sh: nothing listens on $2:$3" >&2; return 1
}
wait_port wl-laptop 10.0.1.10 80; wait_port wl-laptop 10.0.1.10 8080
wait_port wl-laptop 10.0.1.10 22; wait_port wl-web 10.0.2.10 3306
wait_port wl-laptop 203.0.113.80 80
for _ in $(seq 50); do x wl-web dig +time=1 +tries=1 @203.0.113.53 web.lab.example >/dev/null 2>&1 && break; sleep 0.1; done

# ---- captures
flush_arp() {
  local n  # not `ns`: bash's dynamic scope would overwrite the caller's
  for n in "${NS[@]}"; do x "$n" ip neigh flush all 2>/dev/null || true; done
}

# capture FILE NS IFACE TOOL -- COMMAND...: record on NS's IFACE while COMMAND runs.
# TOOL: tcpdump (pcap) or dumpcap (pcapng).
capture() {
  local out="$here/$1" ns="$2" ifc="$3" tool="$4"
  if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $1 "* ]]; then return 0; fi
  shift 5
  rm -f "$out"
  flush_arp
  if [ "$tool" = dumpcap ]; then
    ip netns exec "$ns" timeout 200 dumpcap -q -i "$ifc" -w "$out" 2>/dev/null &
  else
    ip netns exec "$ns" timeout 200 tcpdump -q -i "$ifc" -s 0 -U -w "$out" 2>/dev/null &
  fi
  local cpid=$!
  sleep 1.5
  "$@" >/dev/null 2>&1 || true
  sleep 1
  kill -INT "$cpid" 2>/dev/null || true
  wait "$cpid" 2>/dev/null || true
  chmod 644 "$out"
  echo "wrote ${out#"$here"/} ($(stat -c %s "$out") bytes)"
}

# 1. One HTTP connection from the student's laptop: handshake, GET, response, FIN teardown.
capture lab-http.pcap wl-web eth0 tcpdump -- \
  x wl-laptop curl -s --max-time 5 http://10.0.1.10/index.html

# 2. Keep-alive: three requests on one connection, the last a 404 (which closes it).
capture lab-keepalive.pcapng wl-web eth0 dumpcap -- \
  x wl-laptop curl -s --max-time 5 http://10.0.1.10/index.html http://10.0.1.10/style.css \
    http://10.0.1.10/status.json http://10.0.1.10/missing.html

# 3. The JSON echo app driven by hand, telnet style: a GET, then a POST with a body, typed slowly
#    so each request spans several segments.
cat > "$tmp/keys.txt" <<'KEYS'
GET /hello?name=student HTTP/1.1
Host: 10.0.1.10:8080

POST /orders HTTP/1.1
Host: 10.0.1.10:8080
Content-Type: application/json
Content-Length: 27
Connection: close

{"item": "disk", "qty": 2}
KEYS
capture lab-echo-8080.pcap wl-web eth0 tcpdump -- \
  x wl-laptop python3 "$lab/slowtype.py" 10.0.1.10 8080 "$tmp/keys.txt"

# 4. ssh login with a key, one command, logout.
capture lab-ssh-key.pcap wl-web eth0 tcpdump -- \
  x wl-laptop "${SSH[@]}" root@10.0.1.10 'uname -s; exit'

# 5. ssh moved to 12345 while the security group drops 22: the SYNs to 22 go unanswered and are
#    retransmitted until the client gives up; then the login on 12345 works.
sg_web ssh12345
capture lab-ssh-moved.pcap wl-web eth0 tcpdump -- bash -c "
  ip netns exec wl-laptop ${SSH[*]} root@10.0.1.10 true
  ip netns exec wl-laptop ${SSH[*]} -p 12345 root@10.0.1.10 'uname -s'"
sg_web ssh22

# 6. Pings to the DB host seen on the DB host with `tcpdump -i any` (Linux cooked v2): the web
#    server's pings are answered; the NAT host's are dropped by the DB security group.
capture lab-ping-any.pcap wl-db any tcpdump -- bash -c "
  ip netns exec wl-web ping -c 3 -i 0.3 -W 1 10.0.2.10
  ip netns exec wl-nat ping -c 3 -i 0.3 -W 1 10.0.2.10"

# 7. DNS from the web server: A, AAAA, PTR, a name that does not exist, a CNAME, and one over TCP.
capture lab-dns.pcap wl-web eth0 tcpdump -- bash -c "
  ip netns exec wl-web dig +time=2 +tries=1 @203.0.113.53 db.lab.example A
  ip netns exec wl-web dig +time=2 +tries=1 @203.0.113.53 web.lab.example AAAA
  ip netns exec wl-web dig +time=2 +tries=1 @203.0.113.53 -x 10.0.1.10
  ip netns exec wl-web nslookup -timeout=2 nosuch.lab.example 203.0.113.53
  ip netns exec wl-web dig +time=2 +tries=1 @203.0.113.53 www.lab.example A
  ip netns exec wl-web dig +tcp +time=2 +tries=1 @203.0.113.53 web.lab.example A"

# 8. curl from the private DB host to an internet server through the NAT, captured on both sides.
if [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" lab-nat-db-side.pcap "* ]]; then
ip netns exec wl-inetweb timeout 200 tcpdump -q -i eth0 -s 0 -U -w "$here/lab-nat-inet-side.pcap" 2>/dev/null &
ipid=$!
sleep 1
capture lab-nat-db-side.pcap wl-db eth0 tcpdump -- \
  x wl-db curl -s --max-time 5 http://203.0.113.80/index.html
kill -INT "$ipid" 2>/dev/null || true; wait "$ipid" 2>/dev/null || true
chmod 644 "$here/lab-nat-inet-side.pcap"
echo "wrote samples/lab-nat-inet-side.pcap ($(stat -c %s "$here/lab-nat-inet-side.pcap") bytes)"
fi

# 9. A connection refused: port 8081 is open in the security group but nothing listens.
capture lab-refused.pcap wl-web eth0 tcpdump -- \
  x wl-laptop curl -s --max-time 3 http://10.0.1.10:8081/

# 11. Only one direction: the laptop's own capture of what it sent (`tcpdump -Q out`), as with
#     asymmetric routing or a filter that misses the replies. The connection looks half open.
capture_out() {
  local out="$here/lab-oneway.pcap"
  if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" lab-oneway.pcap "* ]]; then return 0; fi
  flush_arp
  ip netns exec wl-laptop timeout 60 tcpdump -q -i eth0 -Q out -s 0 -U -w "$out" 2>/dev/null &
  local cpid=$!
  sleep 1.5
  x wl-laptop curl -s --max-time 5 http://10.0.1.10/index.html >/dev/null 2>&1 || true
  sleep 1
  kill -INT "$cpid" 2>/dev/null || true
  wait "$cpid" 2>/dev/null || true
  chmod 644 "$out"
  echo "wrote lab-oneway.pcap ($(stat -c %s "$out") bytes)"
}
capture_out

# 12. Port reuse: the laptop connects twice from the same port (45000) to the echo app, which
#     closes first each time (so the laptop's port is free again at once). Wireshark gives the
#     second connection a new stream and flags its SYN "TCP Port numbers reused".
printf 'GET /first HTTP/1.1\nHost: 10.0.1.10\nConnection: close\n\n' > "$tmp/first.txt"
printf 'GET /second HTTP/1.1\nHost: 10.0.1.10\nConnection: close\n\n' > "$tmp/second.txt"
capture lab-port-reuse.pcap wl-web eth0 tcpdump -- bash -c "
  ip netns exec wl-laptop python3 $lab/slowtype.py 10.0.1.10 8080 $tmp/first.txt 45000
  ip netns exec wl-laptop python3 $lab/slowtype.py 10.0.1.10 8080 $tmp/second.txt 45000"

# 13. Datagrams bigger than the 1500-byte MTU leave in IP fragments: two 3000-byte pings from the
#     web server to the DB host, and a DNS answer too long for one packet (a 3 KB TXT record,
#     allowed by EDNS). Then the same question over TCP, where the answer spans three segments.
#     Captured on the web server.
capture lab-fragments.pcap wl-web eth0 tcpdump -- bash -c "
  ip netns exec wl-web ping -c 2 -i 0.3 -W 1 -s 3000 10.0.2.10
  ip netns exec wl-web dig +time=2 +tries=1 +bufsize=4096 @203.0.113.53 big.lab.example TXT
  ip netns exec wl-web dig +tcp +time=2 +tries=1 @203.0.113.53 big.lab.example TXT"

# 10. A few minutes of everything, as the router's public-subnet bridge sees it (pcapng).
mixed() {
  local end=$((SECONDS + 180))
  local round=0
  while [ "$SECONDS" -lt "$end" ] && [ "$round" -lt 80 ]; do
    round=$((round + 1))
    x wl-laptop curl -s --max-time 3 http://10.0.1.10/index.html http://10.0.1.10/status.json
    x wl-web dig +time=1 +tries=1 @203.0.113.53 db.lab.example A
    x wl-web bash -c 'exec 3<>/dev/tcp/10.0.2.10/3306; timeout 2 head -c 40 <&3' || true
    if [ $((round % 5)) = 1 ]; then
      x wl-web ping -c 2 -i 0.2 -W 1 10.0.2.10
      x wl-db curl -s --max-time 3 http://203.0.113.80/index.html
      x wl-laptop curl -s --max-time 2 http://10.0.1.10:8081/
    fi
    if [ $((round % 10)) = 3 ]; then
      x wl-laptop "${SSH[@]}" root@10.0.1.10 'uptime'
    fi
    sleep 2
  done
}
capture lab-mixed.pcapng wl-router br-pub dumpcap -- mixed
