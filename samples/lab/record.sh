#!/usr/bin/env bash
# Record samples/lab-basic.pcap (+ .pcapng) from real traffic between
# pod-like network namespaces.  Run as root:   bash samples/lab/record.sh
#
# Topology (all IPv4, IPv6 disabled so no ND/MLD noise; no default route,
# nothing leaves the namespaces):
#
#   osprey-lab-node    bridge cni0 (no address), tcpdump runs here
#     |- veth-dns    <-> osprey-lab-dns:eth0     10.244.1.2   dnsmasq :53 udp+tcp
#     |- veth-web    <-> osprey-lab-web:eth0     10.244.1.10  python3 webapp.py :80
#     |- veth-db     <-> osprey-lab-db:eth0      10.244.1.20  redis :6379, nc :9000, udp echo :7777
#     `- veth-client <-> osprey-lab-client:eth0  10.244.1.30  curl, dig, redis-cli, nc, ping
#
# Pod MACs are fixed (02:42 + IPv4 address, like Docker) and TX checksum/TSO/GSO
# offloads are off, so the capture has correct checksums and MTU-sized frames.
#
# Environment:
#   LAB_PREFIX   namespace name prefix (default osprey-lab); stale namespaces
#                with this prefix from a killed run are removed first
#   OUT_DIR      where the captures go (default: the samples/ dir)
#   NO_INSTALL=1 never apt-get install missing tools, fail instead
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PREFIX="${LAB_PREFIX:-osprey-lab}"
OUT_DIR="${OUT_DIR:-$(cd "$HERE/.." && pwd)}"
NAME=lab-basic

NS_NODE="$PREFIX-node"
NS_DNS="$PREFIX-dns"
NS_WEB="$PREFIX-web"
NS_DB="$PREFIX-db"
NS_CLIENT="$PREFIX-client"
PODS=("$NS_DNS" "$NS_WEB" "$NS_DB" "$NS_CLIENT")
IP_DNS=10.244.1.2
IP_WEB=10.244.1.10
IP_DB=10.244.1.20
IP_CLIENT=10.244.1.30

log() { printf '[lab] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
BRIDGE=cni0
# shellcheck source=samples/lab/lib.sh
source "$HERE/lib.sh"

[[ $EUID -eq 0 ]] || die "must run as root (network namespaces, tcpdump)"

# ------------------------------------------------------------------ tools
need_pkgs=()
need() { command -v "$1" >/dev/null 2>&1 || need_pkgs+=("$2"); }
need ip iproute2
need ss iproute2
need tcpdump tcpdump
need editcap wireshark-common
need capinfos wireshark-common
need tshark tshark
need ping iputils-ping
need curl curl
need dig bind9-dnsutils
need dnsmasq dnsmasq-base
need redis-server redis-server
need redis-cli redis-tools
need nc netcat-openbsd
need ethtool ethtool
need python3 python3
need timeout coreutils
if ((${#need_pkgs[@]})); then
    [[ "${NO_INSTALL:-0}" == 1 ]] && die "missing packages: ${need_pkgs[*]}"
    log "installing: ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi
nc -h 2>&1 | grep -q -- '-N' || die "nc must be netcat-openbsd (needs -N)"

# ------------------------------------------------------------------ cleanup
TMP="$(mktemp -d /tmp/osprey-lab.XXXXXX)"


cleanup() {
    local rc=$?
    set +e
    lab_teardown "${PODS[@]}" "$NS_NODE"
    if ((rc != 0)); then
        log "failed (exit $rc); server logs kept in $TMP"
        tail -n 5 "$TMP"/*.log 2>/dev/null >&2
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

lab_remove_stale

# ------------------------------------------------------------------ topology
lab_node
add_pod "$NS_DNS" dns "$IP_DNS"
add_pod "$NS_WEB" web "$IP_WEB"
add_pod "$NS_DB" db "$IP_DB"
add_pod "$NS_CLIENT" client "$IP_CLIENT"
log "namespaces up: $NS_NODE ${PODS[*]}"

# ------------------------------------------------------------------ servers
mkdir -p "$TMP/www/api" "$TMP/redis"
cat >"$TMP/www/index.html" <<'HTML'
<!doctype html>
<html><head><title>osprey lab</title></head>
<body><h1>osprey-lab-web</h1><p>Hello from the web pod.</p></body></html>
HTML
printf '{"service":"web","status":"ok","pods":["dns","web","db","client"]}\n' >"$TMP/www/api/status.json"
# ~26 KB body: a multi-segment response for TCP reassembly (deterministic content)
mkdir -p "$TMP/www/static"
for i in $(seq 1 600); do printf 'console.log("osprey lab asset line %04d");\n' "$i"; done >"$TMP/www/static/app.js"

in_ns "$NS_DNS" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
    --no-poll --bind-interfaces --listen-address="$IP_DNS" --user=root --group=root \
    --pid-file --local=/osprey.lab/ \
    --host-record=web.osprey.lab,"$IP_WEB" \
    --host-record=db.osprey.lab,"$IP_DB" \
    --cname=api.osprey.lab,web.osprey.lab \
    --txt-record=lab.osprey.lab,"osprey namespace lab" \
    --log-queries --log-facility=- >"$TMP/dnsmasq.log" 2>&1 &

in_ns "$NS_WEB" python3 "$HERE/webapp.py" --bind "$IP_WEB" --port 80 --root "$TMP/www" \
    >"$TMP/web.log" 2>&1 &

in_ns "$NS_DB" redis-server --bind "$IP_DB" --port 6379 --protected-mode no --save '' \
    --appendonly no --daemonize no --dir "$TMP/redis" --logfile '' >"$TMP/redis.log" 2>&1 &

in_ns "$NS_DB" python3 "$HERE/udp_echo.py" serve "$IP_DB" 7777 >"$TMP/udp.log" 2>&1 &

# nc: the server greets, the client sends one line, both half-close (-N)
printf 'HELLO from osprey-lab-db\n' |
    in_ns "$NS_DB" timeout 60 nc -N -l "$IP_DB" 9000 >"$TMP/nc-server.out" 2>"$TMP/nc.log" &

wait_listen() { # ns proto(t|u) ip:port
    local ns="$1" proto="$2" addr="$3"
    for _ in $(seq 1 50); do
        in_ns "$ns" ss -Hln"$proto" | awk '{print $4}' | grep -qx "$addr" && return 0
        sleep 0.1
    done
    die "nothing listening on $proto $addr in $ns"
}
wait_listen "$NS_DNS" u "$IP_DNS:53"
wait_listen "$NS_DNS" t "$IP_DNS:53"
wait_listen "$NS_WEB" t "$IP_WEB:80"
wait_listen "$NS_DB" t "$IP_DB:6379"
wait_listen "$NS_DB" t "$IP_DB:9000"
wait_listen "$NS_DB" u "$IP_DB:7777"
log "servers listening"

# ------------------------------------------------------------------ capture
PCAP_TMP="$TMP/$NAME.pcap"
# Started directly (not through a shell function) so that $! is tcpdump
# itself (ip netns exec execs it); stopped with SIGTERM, which background jobs
# of a non-interactive shell do not ignore (SIGINT they do).
ip netns exec "$NS_NODE" tcpdump -i cni0 -n -s 0 -U -Z root -w "$PCAP_TMP" 2>"$TMP/tcpdump.log" &
TCPDUMP_PID=$!
for _ in $(seq 1 50); do
    grep -q 'listening on' "$TMP/tcpdump.log" && break
    sleep 0.1
done
grep -q 'listening on' "$TMP/tcpdump.log" || die "tcpdump did not start: $(cat "$TMP/tcpdump.log")"
sleep 0.3

step() { log "traffic: $*"; sleep 0.2; }
C() { in_ns "$NS_CLIENT" timeout 10 "$@"; }

step "ICMP echo client -> web (3 pings)"
C ping -n -q -c 3 -i 0.2 "$IP_WEB" >/dev/null

step "DNS over UDP: A, A via CNAME, AAAA (no data), TXT, NXDOMAIN"
C dig +tries=1 +time=2 @"$IP_DNS" web.osprey.lab A >/dev/null
C dig +tries=1 +time=2 @"$IP_DNS" api.osprey.lab A >/dev/null
C dig +tries=1 +time=2 @"$IP_DNS" db.osprey.lab AAAA >/dev/null
C dig +tries=1 +time=2 @"$IP_DNS" lab.osprey.lab TXT >/dev/null
C dig +tries=1 +time=2 @"$IP_DNS" missing.osprey.lab A >/dev/null
step "DNS over TCP: A"
C dig +tcp +tries=1 +time=2 @"$IP_DNS" db.osprey.lab A >/dev/null

step "HTTP: resolver lookup + 3 keep-alive GETs on one connection (last one ~26 KB)"
C curl -sS -o /dev/null -o /dev/null -o /dev/null \
    http://web.osprey.lab/ http://web.osprey.lab/api/status.json http://web.osprey.lab/static/app.js
step "HTTP: GET 404"
C curl -sS -o /dev/null "http://$IP_WEB/missing"
step "HTTP: POST JSON (201)"
C curl -sS -o /dev/null -H 'Content-Type: application/json' \
    -d '{"user":"alice","action":"login"}' "http://$IP_WEB/api/login"

step "Redis from web pod (app-style: one connection, 6 commands incl. a nil GET)"
in_ns "$NS_WEB" timeout 10 python3 "$HERE/resp_client.py" "$IP_DB" 6379 \
    PING 'SET session:42 alice' 'GET session:42' 'INCR hits' 'EXPIRE session:42 60' \
    'GET nosuchkey' >/dev/null
step "Redis from client (LPUSH/LRANGE, then an unknown command -> error)"
C redis-cli -h "$IP_DB" LPUSH jobs scan-1 scan-2 >/dev/null
C redis-cli -h "$IP_DB" LRANGE jobs 0 -1 >/dev/null
C redis-cli -h "$IP_DB" NOSUCHCOMMAND x >/dev/null || true

step "nc TCP exchange client <-> db:9000"
printf 'ping over tcp from client\n' | C nc -N -w 3 "$IP_DB" 9000 >"$TMP/nc-client.out"

step "UDP request/response client <-> db:7777 (3 datagrams)"
C python3 "$HERE/udp_echo.py" send "$IP_DB" 7777 alpha bravo charlie >/dev/null

step "TCP to a closed port (RST) and UDP to a closed port (ICMP unreachable)"
C curl -sS -o /dev/null --max-time 2 "http://$IP_DB:8081/" 2>/dev/null || true
C python3 "$HERE/udp_echo.py" send "$IP_DB" 7778 probe >/dev/null

sleep 1 # let FINs/ACKs drain
kill -TERM "$TCPDUMP_PID"
wait "$TCPDUMP_PID" || true
grep -E 'packets (captured|dropped)' "$TMP/tcpdump.log" | sed 's/^/[lab] tcpdump: /' >&2

grep -q 'HELLO from osprey-lab-db' "$TMP/nc-client.out" || die "nc exchange failed"
grep -q 'ping over tcp' "$TMP/nc-server.out" || die "nc server got nothing"

# ------------------------------------------------------------------ outputs
mkdir -p "$OUT_DIR"
PCAP="$OUT_DIR/$NAME.pcap"
PCAPNG="$OUT_DIR/$NAME.pcapng"
cp "$PCAP_TMP" "$PCAP"
editcap -F pcapng --capture-comment \
    "osprey namespace lab: samples/lab/record.sh, captured on bridge cni0" "$PCAP" "$PCAPNG"

summarize() { # same layout as ../shared/pcaps/*.tshark.txt
    local f="$1" b n tcp udp
    b="$(basename "$f")"
    n="$(capinfos -c -M "$f" | awk -F: '/Number of packets/ {gsub(/ /,"",$2); print $2}')"
    tcp="$(tshark -n -q -r "$f" 2>/dev/null -z conv,tcp | grep -c '<->' || true)"
    udp="$(tshark -n -q -r "$f" 2>/dev/null -z conv,udp | grep -c '<->' || true)"
    echo "# $(tshark --version 2>/dev/null | head -n1 | sed 's/\.$//'); summary written by samples/lab/record.sh"
    echo "packets: $n"
    echo "malformed_or_expert_error_frames: $(tshark -n -r "$f" 2>/dev/null -Y '_ws.malformed || _ws.expert.severity == error' | wc -l)"
    echo "tcp_conversations: $tcp"
    echo "udp_conversations: $udp"
    echo
    echo "## capinfos -c -t -E -d -u"
    (cd "$(dirname "$f")" && capinfos -c -t -E -d -u "$b")
    echo
    echo "## tshark -q -z conv,tcp"
    tshark -n -q -r "$f" 2>/dev/null -z conv,tcp | grep '<->'
    echo
    echo "## tshark -q -z conv,udp"
    tshark -n -q -r "$f" 2>/dev/null -z conv,udp | grep '<->'
    echo
    echo "## tshark -q -z io,phs"
    tshark -n -q -r "$f" 2>/dev/null -z io,phs
}
summarize "$PCAP" >"$PCAP.tshark.txt"

if command -v ndpiReader >/dev/null 2>&1; then
    {
        echo "# ndpiReader -i F -v 2 ($(ndpiReader -h 2>&1 | grep -o 'nDPI [0-9.]*' | head -n1)); banner, memory and timing lines removed"
        ndpiReader -i "$PCAP" -v 2 2>&1 |
            awk '/^Traffic statistics:/ {on=1} on' |
            grep -v -E 'throughput|Analysis begin|Analysis end|Traffic duration|Processing Time'
    } >"$PCAP.ndpi.txt"
fi

log "wrote $PCAP ($(stat -c %s "$PCAP") bytes), $PCAPNG, $PCAP.tshark.txt"
sed -n '2,5p' "$PCAP.tshark.txt" | sed 's/^/[lab]   /' >&2
