#!/usr/bin/env bash
# GUI benchmarks (issue 6).
#
#   bench/gui.sh                # both
#   SIZE_MIB=256 bench/gui.sh   # smaller workload for the open test
#   ONLY=open bench/gui.sh      # only the time to first graph (or ONLY=frames)
#
# 1. Frame time: `cargo bench -p osprey-ui --bench graph` (synthetic 2,000
#    workloads / 100,000 flows, CPU side: egui pass + tessellation; see
#    ui/benches/graph.rs), then the same case in the real eframe/glow window
#    under Xvfb with Mesa's software renderer (ui/examples/synthetic_frames.rs),
#    then an empty window the same way (the floor: clear, swap, copy to X).
#    Four kinds of frame: while the layout settles, settled, a pan and a
#    zoom gesture (the view moved each frame). All of them show the graph's
#    cached base layer (one texture, ui/src/graph/base.rs), rasterised on a
#    worker thread and shown moved and scaled until the next picture; the
#    "base layer (worker)" lines say how many pictures it delivered in each
#    kind and how long each took. Last figures and where the time goes:
#    README, "Benchmarks" under the GUI.
# 2. Time to first graph: the real `osprey gui` under Xvfb opens the mixed
#    workload of ../shared/bench/gen_pcap.py (cached in BENCH_DIR like
#    bench/run.sh does); prints when the preview graph and the full case
#    appeared (the app logs both), then closes.
#
# Needs Xvfb (make deps). OSPREY defaults to target/release/osprey.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED_DIR="${SHARED_DIR:-$REPO/../shared}"
GEN="$SHARED_DIR/bench/gen_pcap.py"
SIZE_MIB="${SIZE_MIB:-1024}"
SEED="${SEED:-1}"
WORKERS=2
BENCH_DIR="${BENCH_DIR:-/tmp/osprey-bench}"
OSPREY="${OSPREY:-${CARGO_TARGET_DIR:-$REPO/target}/release/osprey}"

log() { printf '[gui-bench] %s\n' "$*" >&2; }

ONLY="${ONLY:-}"
if [[ "$ONLY" != open ]]; then
    log "frame time (cargo bench -p osprey-ui --bench graph)"
    (cd "$REPO" && cargo bench -q -p osprey-ui --bench graph)
fi

mkdir -p "$BENCH_DIR"
GEN_HASH="$(sha256sum "$GEN" | cut -c1-12)"
F="$BENCH_DIR/bench-${SIZE_MIB}MiB-seed${SEED}-w${WORKERS}-${GEN_HASH}.pcap"
if [[ ! -s "$F" && "$ONLY" != frames ]]; then
    log "generating ${SIZE_MIB} MiB workload -> $F"
    python3 "$GEN" --size-mib "$SIZE_MIB" --out "$F.tmp" --workers "$WORKERS" --seed "$SEED" >/dev/null
    mv "$F.tmp" "$F"
    rm -f "$F.tmp.stats.json"
fi
[[ -x "$OSPREY" ]] || (cd "$REPO" && cargo build --release)

WORK="$(mktemp -d)"
XPID=""
APID=""
cleanup() {
    [[ -n "$APID" ]] && kill "$APID" 2>/dev/null || true
    [[ -n "$XPID" ]] && kill "$XPID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
# A link, so the case (`<capture>.osprey/`) is built in the scratch dir.
ln -s "$F" "$WORK/bench.pcap"
D=""
for n in $(seq 150 199); do
    if [[ ! -e /tmp/.X11-unix/X$n && ! -e /tmp/.X$n-lock ]]; then D=$n; break; fi
done
[[ -n "$D" ]] || { log "no free X display"; exit 2; }
Xvfb ":$D" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
XPID=$!
for _ in $(seq 100); do [[ -e /tmp/.X11-unix/X$D ]] && break; sleep 0.1; done
if [[ "$ONLY" != open ]]; then
    log "frame time in the real window (llvmpipe) on :$D"
    (cd "$REPO" && cargo build -q --release -p osprey-ui --example synthetic_frames)
    DISPLAY=":$D" LIBGL_ALWAYS_SOFTWARE=1 \
        "${CARGO_TARGET_DIR:-$REPO/target}/release/examples/synthetic_frames" 2>/dev/null
    log "the floor: an empty window, same setup"
    DISPLAY=":$D" LIBGL_ALWAYS_SOFTWARE=1 OSPREY_BENCH_EMPTY=1 \
        "${CARGO_TARGET_DIR:-$REPO/target}/release/examples/synthetic_frames" 2>/dev/null |
        grep "wall, settled" | sed 's/^/empty window: /'
fi
[[ "$ONLY" == frames ]] && exit 0
log "opening $(basename "$F") ($(du -h "$F" | cut -f1)) in osprey gui on :$D"
DISPLAY=":$D" OSPREY_LOG=osprey_ui=info LIBGL_ALWAYS_SOFTWARE=1 \
    "$OSPREY" gui "$WORK/bench.pcap" 2>"$WORK/log" >/dev/null &
APID=$!
for _ in $(seq 1800); do
    grep -q "case loaded" "$WORK/log" && break
    kill -0 "$APID" 2>/dev/null || { cat "$WORK/log"; exit 1; }
    sleep 0.5
done
sed -r 's/\x1b\[[0-9;]*m//g' "$WORK/log" >"$WORK/log.txt"
first="$(sed -n 's/.*first graph.*elapsed_ms=\([0-9]*\).*/\1/p' "$WORK/log.txt" | head -1)"
conv="$(sed -n 's/.*first graph.*conversations=\([0-9]*\).*/\1/p' "$WORK/log.txt" | head -1)"
full="$(sed -n 's/.*case loaded.*elapsed_ms=\([0-9]*\).*/\1/p' "$WORK/log.txt" | head -1)"
echo "open ${SIZE_MIB} MiB: first graph (preview, ${conv:-?} conversations) after ${first:-?} ms; full case after ${full:-?} ms"
