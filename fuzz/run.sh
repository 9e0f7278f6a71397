#!/usr/bin/env bash
# Runs every fuzz target for a while (cargo-fuzz / libFuzzer).
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]    default 30 s, all targets
#   FUZZ_RUNS=10000000 fuzz/run.sh 3600 decode ...   stop each target after
#       that many executions (SECONDS_PER_TARGET is then only a ceiling)
#
# Seeds are made at run time (fuzz/seeds.py: samples/ and slices of
# ../shared/pcaps) into fuzz/corpus/ (not tracked). A crash leaves its input
# in fuzz/artifacts/<target>/ and fails the run; fix it and add the input as
# a regression test. No sanitizer (-s none): the project forbids unsafe
# code, so the findings that matter are panics, overflows (debug
# assertions on, -a), hangs and memory blow-ups (-rss_limit_mb).
# Nightly features through RUSTC_BOOTSTRAP=1 on the stable toolchain.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
SECS="${1:-30}"
shift || true
export RUSTC_BOOTSTRAP=1
export PATH="$HOME/.cargo/bin:$PATH"
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "[fuzz] installing cargo-fuzz"
    cargo install cargo-fuzz --locked --quiet
fi
ALL=$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^osprey-fuzz$')
TARGETS="${*:-$ALL}"
rm -rf corpus
python3 seeds.py corpus
if [[ $# -eq 0 ]]; then
    cargo fuzz build -s none -a 2>&1 | tail -n 3
else
    for t in $TARGETS; do cargo fuzz build -s none -a "$t" 2>&1 | tail -n 3; done
fi
limit=(-max_total_time="$SECS")
if [[ -n "${FUZZ_RUNS:-}" ]]; then
    limit+=(-runs="$FUZZ_RUNS")
fi
status=0
printf '%-18s %12s %10s %s\n' target executions exec/s result | tee results-latest.txt
for t in $TARGETS; do
    mkdir -p "corpus/$t" "artifacts/$t"
    log="artifacts/$t.log"
    if cargo fuzz run -s none -a "$t" "corpus/$t" -- \
        "${limit[@]}" -rss_limit_mb=2048 -timeout=25 -print_final_stats=1 >"$log" 2>&1; then
        result=ok
    else
        result="FAILED (see fuzz/$log)"
        status=1
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    printf '%-18s %12s %10s %s\n' "$t" "${runs:-?}" "${rate:-?}" "$result" | tee -a results-latest.txt
done
exit "$status"
