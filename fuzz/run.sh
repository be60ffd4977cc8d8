#!/usr/bin/env bash
# Run each fuzz target for a given time, seeded from ../shared/corpus.
# usage: fuzz/run.sh SECONDS [TARGET...]
# Crashes are copied to fuzz/regressions/TARGET/ (replayed by tests/fuzz_regressions.rs);
# a summary line per target (time, executions, crashes) goes to fuzz/runs.log.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:?seconds per target}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=($(sed -n 's/^name = "\(.*\)"/\1/p' Cargo.toml | grep -v synack-fuzz))
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
export RUSTC_BOOTSTRAP=1   # cargo fuzz needs nightly flags; the stable compiler accepts them this way
captures=../../shared/corpus/captures

seed() {
    local t=$1 dir=corpus/$1
    mkdir -p "$dir"
    [ -n "$(ls -A "$dir")" ] && return
    case $t in
        capture_file) cp "$captures"/* "$dir"/ ;;
        *) python3 seeds.py "$t" "$captures" "$dir" ;;
    esac
}

for t in "${targets[@]}"; do
    seed "$t"
    mkdir -p "regressions/$t"
    log=$(mktemp)
    start=$(date +%s)
    set +e
    case $t in capture_file) max=65536 ;; frame) max=4096 ;; *) max=64 ;; esac
    cargo fuzz run -O "$t" "corpus/$t" -- -max_total_time="$secs" -print_final_stats=1 -max_len=$max \
        -rss_limit_mb=1024 -timeout=10 >"$log" 2>&1
    rc=$?
    set -e
    end=$(date +%s)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    crashes=0
    for a in artifacts/"$t"/*; do
        [ -e "$a" ] || continue
        cp "$a" "regressions/$t/"
        crashes=$((crashes + 1))
    done
    line="$(date -u +%FT%TZ) $t seconds=$((end - start)) execs=${execs:-?} exit=$rc crashes=$crashes"
    echo "$line" | tee -a runs.log
    [ $rc -eq 0 ] || tail -40 "$log"
    rm -f "$log"
done
