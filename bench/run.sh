#!/usr/bin/env bash
# Ingest benchmark: osprey (with and without detection) vs tcpdump vs ndpiReader on the same synthetic
# container-node capture, in the same run, each under /usr/bin/time -v.
#
#   bench/run.sh                      # 1 GiB workload (default)
#   SIZE_MIB=16 bench/run.sh          # quick check
#
# Environment:
#   SIZE_MIB     size of the generated pcap (default 1024)
#   SEED         generator seed (default 1)
#   BENCH_DIR    cache + scratch dir (default /tmp/osprey-bench); the pcap is
#                kept there between runs, keyed by size, seed and generator hash
#   SHARED_DIR   the team's shared/ dir (default: ../shared beside the repo)
#   REPEAT       runs of osprey and osprey-dpi, alternating (default 3; medians)
#   SKIP_BUILD=1 do not run `cargo build --release` (use the existing binary)
#   OSPREY       path of the osprey binary (default target/release/osprey)
#
# Prints a table (also written to bench/results-latest.txt, not tracked).
# Exit status: 0 when every tool ran; 1 when osprey could not be built or
# failed (the peers' rows are still printed).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED_DIR="${SHARED_DIR:-$REPO/../shared}"
GEN="$SHARED_DIR/bench/gen_pcap.py"
SIZE_MIB="${SIZE_MIB:-1024}"
SEED="${SEED:-1}"
REPEAT="${REPEAT:-3}"
WORKERS=2
BENCH_DIR="${BENCH_DIR:-/tmp/osprey-bench}"
OSPREY="${OSPREY:-$REPO/target/release/osprey}"
RESULTS="$REPO/bench/results-latest.txt"

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }

[[ -f "$GEN" ]] || die "generator not found: $GEN (set SHARED_DIR)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time missing (apt-get install -y time, or: make deps)"
for t in python3 capinfos tcpdump ndpiReader; do
    command -v "$t" >/dev/null || die "$t missing (run: make deps)"
done

# ------------------------------------------------------------------ workload
mkdir -p "$BENCH_DIR"
GEN_HASH="$(sha256sum "$GEN" | cut -c1-12)"
F="$BENCH_DIR/bench-${SIZE_MIB}MiB-seed${SEED}-w${WORKERS}-${GEN_HASH}.pcap"
if [[ -s "$F" && -s "$F.stats.json" ]]; then
    log "using cached workload $F"
else
    log "generating ${SIZE_MIB} MiB workload -> $F"
    rm -f "$F.tmp" "$F.tmp.stats.json" "$F.count"
    python3 "$GEN" --size-mib "$SIZE_MIB" --out "$F.tmp" --workers "$WORKERS" --seed "$SEED" >/dev/null
    mv "$F.tmp.stats.json" "$F.stats.json.new"
    mv "$F.tmp" "$F"
    mv "$F.stats.json.new" "$F.stats.json" # written last: marks the cache entry complete
fi
if [[ ! -s "$F.count" ]]; then
    capinfos -c -M "$F" | awk -F: '/Number of packets/ {gsub(/[^0-9]/, "", $2); print $2}' >"$F.count"
fi
PACKETS="$(cat "$F.count")"
BYTES="$(stat -c %s "$F")"
[[ "$PACKETS" =~ ^[0-9]+$ ]] || die "could not count packets in $F"
log "workload: $PACKETS packets, $BYTES bytes"

RUN="$BENCH_DIR/run"
rm -rf "$RUN"
mkdir -p "$RUN"

# ------------------------------------------------------------------ build
OSPREY_ERR=""
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "cargo build --release"
    if ! (cd "$REPO" && cargo build --release) >"$RUN/build.log" 2>&1; then
        OSPREY_ERR="cargo build --release failed (see $RUN/build.log)"
        tail -n 20 "$RUN/build.log" >&2
    fi
fi
if [[ -z "$OSPREY_ERR" && ! -x "$OSPREY" ]]; then
    OSPREY_ERR="binary not found: $OSPREY"
fi

# ------------------------------------------------------------------ runs
# Warm the page cache so no tool pays for the first read from disk.
cat "$F" >/dev/null

declare -A WALL RSS STATUS REPORTED
# osprey: the full pipeline (decode, flows, DPI, detection, case);
# osprey-dpi: the same with `--no-detect`, to show what detection costs.
TOOLS=(osprey osprey-dpi tcpdump ndpiReader)

timed() { # name cmd...   -> WALL[name] (s), RSS[name] (MiB), STATUS[name]
    local name="$1" t0 t1 rc=0
    shift
    log "run $name: $*"
    t0="$(date +%s%N)"
    /usr/bin/time -v -o "$RUN/$name.time" "$@" >"$RUN/$name.out" 2>&1 || rc=$?
    t1="$(date +%s%N)"
    WALL[$name]="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')"
    RSS[$name]="$(awk -F: '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$RUN/$name.time")"
    if ((rc == 0)); then STATUS[$name]=ok; else STATUS[$name]="exit $rc"; fi
}

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
maxof() { printf '%s\n' "$@" | sort -n | tail -n 1; }

if [[ -z "$OSPREY_ERR" ]]; then
    # osprey and osprey-dpi alternate, REPEAT times each; the table shows
    # each one's median wall time and highest RSS, so what detection costs
    # is not one run's noise (this VM varies by up to 15% between runs).
    walls_full=() walls_dpi=() rss_full=() rss_dpi=() pairs=()
    for ((r = 1; r <= REPEAT; r++)); do
        rm -rf "$RUN/case" "$RUN/case-dpi"
        timed osprey "$OSPREY" analyze "$F" -o "$RUN/case"
        if [[ "${STATUS[osprey]}" != ok ]]; then
            OSPREY_ERR="osprey analyze ${STATUS[osprey]} (see $RUN/osprey.out)"
            tail -n 20 "$RUN/osprey.out" >&2
            break
        fi
        walls_full+=("${WALL[osprey]}") rss_full+=("${RSS[osprey]}")
        timed osprey-dpi "$OSPREY" analyze "$F" -o "$RUN/case-dpi" --no-detect
        walls_dpi+=("${WALL[osprey-dpi]}") rss_dpi+=("${RSS[osprey-dpi]}")
        pairs+=("$(awk -v a="${WALL[osprey-dpi]}" -v b="${WALL[osprey]}" 'BEGIN { printf "%.0f%%", 100 * a / b }')")
    done
    if [[ -z "$OSPREY_ERR" ]]; then
        WALL[osprey]="$(median "${walls_full[@]}")" RSS[osprey]="$(maxof "${rss_full[@]}")"
        WALL[osprey-dpi]="$(median "${walls_dpi[@]}")" RSS[osprey-dpi]="$(maxof "${rss_dpi[@]}")"
        DETECT_COST="detection: osprey runs at $(awk -v a="${WALL[osprey-dpi]}" -v b="${WALL[osprey]}" \
            'BEGIN { printf "%.0f%%", 100 * a / b }') of osprey-dpi's packets/s (medians of $REPEAT alternating runs; each pair: ${pairs[*]})"
    fi
    # the summary's packet count, if it prints one ("packets: N" or "N packets")
    REPORTED[osprey]="$(grep -i -m1 -o -E 'packets[^0-9]{0,12}[0-9][0-9,_]*|[0-9][0-9,_]* packets' "$RUN/osprey.out" |
        head -n1 | tr -cd '0-9' || true)"
else
    log "osprey: $OSPREY_ERR -- running the peers only"
    STATUS[osprey]="n/a"
    STATUS[osprey-dpi]="n/a"
fi
timed tcpdump tcpdump -r "$F" -w /dev/null
timed ndpiReader ndpiReader -i "$F" -q

# ------------------------------------------------------------------ report
{
    echo "# osprey ingest benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(uname -r)"
    echo "# workload: $(basename "$F") ($SIZE_MIB MiB, $BYTES bytes, $PACKETS packets per capinfos)"
    echo "# wall = elapsed ns clock around /usr/bin/time -v; RSS = its 'Maximum resident set size'"
    echo "# osprey, osprey-dpi: median wall and highest RSS of $REPEAT alternating runs"
    echo "# x_osprey = tool wall / osprey wall (>1: slower than osprey)"
    printf '%-11s %12s %9s %12s %9s %9s %-8s %s\n' \
        tool packets wall_s packets/s x_osprey rss_MiB status reported_pkts
    for t in "${TOOLS[@]}"; do
        if [[ "${STATUS[$t]}" == "n/a" ]]; then
            printf '%-11s %12s %9s %12s %9s %9s %-8s %s\n' "$t" "$PACKETS" - - - - n/a "$OSPREY_ERR"
            continue
        fi
        pps="$(awk -v n="$PACKETS" -v w="${WALL[$t]}" 'BEGIN { printf "%.0f", (w > 0 ? n / w : 0) }')"
        if [[ -n "${WALL[osprey]:-}" && "${STATUS[osprey]}" == ok ]]; then
            ratio="$(awk -v a="${WALL[$t]}" -v b="${WALL[osprey]}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
        else
            ratio=-
        fi
        printf '%-11s %12s %9s %12s %9s %9s %-8s %s\n' "$t" "$PACKETS" "${WALL[$t]}" "$pps" "$ratio" \
            "${RSS[$t]:--}" "${STATUS[$t]}" "${REPORTED[$t]:--}"
    done
    [[ -z "${DETECT_COST:-}" ]] || echo "# $DETECT_COST"
    if [[ -n "${REPORTED[osprey]:-}" && "${REPORTED[osprey]}" != "$PACKETS" ]]; then
        echo "# WARNING: osprey reported ${REPORTED[osprey]} packets, capinfos counted $PACKETS"
    fi
    if [[ -f "$RUN/case/case.sqlite" ]]; then
        echo "# osprey case dir: $(du -sh "$RUN/case" | cut -f1) (case.sqlite $(du -h "$RUN/case/case.sqlite" | cut -f1))"
    fi
} | tee "$RESULTS"
log "written to $RESULTS; tool outputs in $RUN"

[[ -z "$OSPREY_ERR" ]] || { log "FAILED for osprey: $OSPREY_ERR"; exit 1; }
