#!/usr/bin/env bash
# Highest packet rate on a veth that `osprey record` and `tcpdump` capture
# with 0 drops. Run as root after `cargo build --release`:
#   bash bench/live-rate.sh [RATES...]      (default: 20000 50000 100000 150000 200000 300000)
# A paced python sender (AF_PACKET) sends 64-byte UDP frames out of the
# host side of a veth for SECONDS (default 3) at each rate; each capturer
# runs alone with filter `udp dst port 9`, and reports kernel + own drops.
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

run_one() { # tool rate
    local tool="$1" rate="$2" pid out
    rm -rf "$WORK/ring" "$WORK/td.pcap"
    if [[ $tool == osprey ]]; then
        ip netns exec "$NODE" "$OSPREY" record -i "$VETH" --filter 'udp dst port 9' -o "$WORK/ring" \
            --ring-size 512MiB --ring-files 4 --no-attribution >"$WORK/out" 2>"$WORK/err" &
        pid=$!
        until grep -q "capturing on" "$WORK/err" 2>/dev/null; do sleep 0.05; done
    else
        ip netns exec "$NODE" tcpdump -n -B 32768 -i "$VETH" -w "$WORK/td.pcap" 'udp dst port 9' >"$WORK/out" 2>"$WORK/err" &
        pid=$!
        until grep -q "listening on" "$WORK/err" 2>/dev/null; do sleep 0.05; done
    fi
    sleep 0.3
    read -r sent actual < <(ip netns exec "$NODE" python3 "$WORK/send.py" "$VETH" "$rate" "$SECONDS_PER_RATE")
    sleep 1.5   # tcpdump's kernel blocks retire after its 1 s timeout
    kill -INT "$pid"; wait "$pid" || true
    if [[ $tool == osprey ]]; then
        # interface packets bytes kern_drop if_drop queue_drop duplicate
        read -r got kd qd < <(awk -v v="$VETH" '$1==v {print $2, $4, $6}' "$WORK/out")
    else
        got=$(awk '/packets captured/ {print $1}' "$WORK/err")
        kd=$(awk '/dropped by kernel/ {print $1}' "$WORK/err"); qd=0
    fi
    printf '%-7s target %7d pps  sent %7d at %7s pps  captured %7d  kernel drops %7d  own drops %7d\n' \
        "$tool" "$rate" "$sent" "$actual" "$got" "$kd" "$qd"
}
for r in "${RATES[@]}"; do
    run_one osprey "$r"
    run_one tcpdump "$r"
done
