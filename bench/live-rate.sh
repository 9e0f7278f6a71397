#!/usr/bin/env bash
# Highest packet rate on a veth that `osprey record` and `tcpdump` capture
# with 0 drops. Run as root after `cargo build --release`:
#   bash bench/live-rate.sh [RATES...]      (default: 20000 50000 100000 150000 200000 300000)
# A paced python sender (AF_PACKET) sends 64-byte UDP frames out of the
# host side of a veth for SECONDS (default 3) at each rate; the rate
# `flood` is `hping3 --flood` instead (as fast as it goes; sent = the
# veth's tx counter). Each capturer runs alone with filter
# `udp dst port 9`, and reports frames kept, kernel drops and its own
# (queue) drops. OSPREY_ARGS adds options to `osprey record` (--no-detect).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OSPREY="${OSPREY:-$HERE/target/release/osprey}"
[[ -x "$OSPREY" ]] || OSPREY="${CARGO_TARGET_DIR:-$HERE/target}/release/osprey"
SECONDS_PER_RATE="${SECONDS_PER_RATE:-3}"
RATES=("$@")
[[ ${#RATES[@]} -gt 0 ]] || RATES=(20000 50000 100000 150000 200000 300000)
NODE="osprey-rate-$$-node"; POD="osprey-rate-$$-pod"; VETH="vr$$"
WORK="$(mktemp -d)"
cleanup() { ip netns del "$POD" 2>/dev/null || true; ip netns del "$NODE" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
ip netns add "$NODE"; ip netns add "$POD"
ip -n "$NODE" link add "$VETH" type veth peer name eth0 netns "$POD"
ip -n "$NODE" link set "$VETH" up; ip -n "$POD" link set eth0 up
for ns in "$NODE" "$POD"; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
ip -n "$POD" link set eth0 address 02:00:00:00:00:02
ip -n "$NODE" addr add 10.78.0.1/24 dev "$VETH"; ip -n "$POD" addr add 10.78.0.2/24 dev eth0
ip -n "$NODE" neigh replace 10.78.0.2 lladdr 02:00:00:00:00:02 dev "$VETH" nud permanent
tx() { ip -n "$NODE" -j -s link show "$VETH" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["tx"]["packets"])'; }

cat >"$WORK/send.py" <<'PY'
import socket, struct, sys, time
iface, rate, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind((iface, 0))
eth = b'\x02\x00\x00\x00\x00\x02' + b'\x02\x00\x00\x00\x00\x01' + b'\x08\x00'
ip = bytes.fromhex('4500002e00004000401100000a4e00010a636363')
frame = eth + ip + struct.pack('!HHHH', 40000, 9, 26, 0) + b'\x00' * 18
total = int(rate * secs); sent = 0; t0 = time.perf_counter()
while sent < total:
    due = min(total, int((time.perf_counter() - t0) * rate) + 1)
    while sent < due:
        try: s.send(frame); sent += 1
        except OSError: pass
    if sent < total and sent >= (time.perf_counter() - t0) * rate: time.sleep(0.0005)
el = time.perf_counter() - t0
print(sent, f"{sent/el:.0f}")
PY

# A C sender (sendmmsg, 64 frames a call) when a compiler is there: python
# tops out near 150k frames/s, well below what capture takes.
cat >"$WORK/send.c" <<'C'
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
    long rate = atol(argv[2]); double secs = atof(argv[3]); long total = (long)(rate * secs), sent = 0;
    int s = socket(AF_PACKET, SOCK_RAW, 0);
    struct sockaddr_ll a = {0}; a.sll_family = AF_PACKET; a.sll_ifindex = if_nametoindex(argv[1]);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("socket"); return 1; }
    unsigned char f[64] = {2,0,0,0,0,2, 2,0,0,0,0,1, 8,0, 0x45,0,0,0x2e,0,0,0x40,0,0x40,0x11,0,0, 10,78,0,1, 10,99,99,99, 0x9c,0x40,0,9,0,0x1a,0,0};
    struct iovec iov[64]; struct mmsghdr m[64]; memset(m, 0, sizeof m);
    for (int i = 0; i < 64; i++) { iov[i].iov_base = f; iov[i].iov_len = 60; m[i].msg_hdr.msg_iov = &iov[i]; m[i].msg_hdr.msg_iovlen = 1; }
    double t0 = now();
    while (sent < total) {
        long due = (long)((now() - t0) * rate) + 64; if (due > total) due = total;
        if (sent >= due) continue;
        int n = due - sent > 64 ? 64 : (int)(due - sent);
        int r = sendmmsg(s, m, n, 0); if (r > 0) sent += r;
    }
    printf("%ld %.0f\n", sent, sent / (now() - t0));
    return 0;
}
C
SENDER=(python3 "$WORK/send.py")
if command -v cc >/dev/null && cc -O2 -o "$WORK/send" "$WORK/send.c" 2>/dev/null; then SENDER=("$WORK/send"); fi

run_one() { # tool rate
    local tool="$1" rate="$2" pid extra=()
    read -ra extra <<<"${OSPREY_ARGS:-}"
    rm -rf "$WORK/ring" "$WORK/td.pcap"
    if [[ $tool == osprey ]]; then
        ip netns exec "$NODE" "$OSPREY" record -i "$VETH" --filter 'udp dst port 9' -o "$WORK/ring" \
            --ring-size 512MiB --ring-files 4 --no-attribution "${extra[@]}" >"$WORK/out" 2>"$WORK/err" &
        pid=$!
        until grep -q "capturing on" "$WORK/err" 2>/dev/null; do sleep 0.05; done
    else
        ip netns exec "$NODE" tcpdump -n -B 32768 -i "$VETH" -w "$WORK/td.pcap" 'udp dst port 9' >"$WORK/out" 2>"$WORK/err" &
        pid=$!
        until grep -q "listening on" "$WORK/err" 2>/dev/null; do sleep 0.05; done
    fi
    sleep 0.3
    if [[ $rate == flood ]]; then
        local t0 t1
        t0=$(tx)
        ip netns exec "$NODE" timeout -s INT "$SECONDS_PER_RATE" hping3 -q --udp -p 9 -d 18 --flood 10.78.0.2 >/dev/null 2>&1 || true
        t1=$(tx)
        sent=$((t1 - t0)); actual=$((sent / SECONDS_PER_RATE))
    else
        # SENDERS=N: N senders at rate/N each (one CPU is not enough to
        # push a veth much past 180k frames/s here).
        local n="${SENDERS:-1}" i senders=()
        for ((i = 0; i < n; i++)); do
            ip netns exec "$NODE" "${SENDER[@]}" "$VETH" "$((rate / n))" "$SECONDS_PER_RATE" >"$WORK/sent.$i" &
            senders+=($!)
        done
        wait "${senders[@]}"
        sent=$(cat "$WORK"/sent.* | awk '{s += $1} END {print s}')
        actual=$(cat "$WORK"/sent.* | awk '{s += $2} END {print s}')
        rm -f "$WORK"/sent.*
    fi
    sleep 1.5   # tcpdump's kernel blocks retire after its 1 s timeout
    kill -INT "$pid"; wait "$pid" || true
    if [[ $tool == osprey ]]; then
        # interface packets bytes kern_drop if_drop queue_drop duplicate
        read -r got kd qd < <(awk -v v="$VETH" '$1==v {print $2 - $6, $4, $6}' "$WORK/out")
    else
        got=$(awk '/packets captured/ {print $1}' "$WORK/err")
        kd=$(awk '/dropped by kernel/ {print $1}' "$WORK/err"); qd=0
    fi
    printf '%-7s target %7s pps  sent %7d at %7s pps  captured %7d  kernel drops %7d  own drops %7d\n' \
        "$tool" "$rate" "$sent" "$actual" "$got" "$kd" "$qd"
}
for r in "${RATES[@]}"; do
    run_one osprey "$r"
    run_one tcpdump "$r"
done
