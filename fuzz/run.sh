#!/usr/bin/env bash
# Run each fuzz target for a given time, seeded from ../shared/corpus.
# usage: fuzz/run.sh SECONDS [TARGET...]   (all targets when none is named)
#
# The targets are built once, with optimisations and with debug assertions and
# overflow checks on (an arithmetic overflow in a parser is a crash), then each
# binary runs for SECONDS. Crashes, hangs (-timeout) and excess memory
# (-rss_limit_mb, -malloc_limit_mb) are kept in fuzz/regressions/TARGET/, which
# tests/fuzz_regressions.rs replays; a line per target (time, executions,
# crashes) is appended to fuzz/runs.log. Run it under `nice -n 19` on a shared
# machine.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:?seconds per target}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=($(sed -n 's/^name = "\(.*\)"/\1/p' Cargo.toml | grep -v synack-fuzz))
export PATH="$HOME/.cargo/bin:$PATH"
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
export RUSTC_BOOTSTRAP=1   # cargo fuzz needs nightly flags; the stable compiler accepts them this way
captures=../../shared/corpus/captures
target_dir=${CARGO_TARGET_DIR:-target}
case $target_dir in /*) ;; *) target_dir=$PWD/$target_dir ;; esac
bin_dir=$target_dir/x86_64-unknown-linux-gnu/release

seed() {
    local t=$1 dir=corpus/$1
    mkdir -p "$dir"
    [ -n "$(ls -A "$dir")" ] && return
    case $t in
        capture_file) cp "$captures"/* "$dir"/ ;;
        *) python3 seeds.py "$t" "$captures" "$dir" ;;
    esac
    # The hostile inputs kept as regressions are seeds too.
    [ -d "regressions/$t" ] && cp regressions/"$t"/* "$dir"/ 2>/dev/null || true
}

for t in "${targets[@]}"; do
    cargo fuzz build -O -a --target-dir "$target_dir" "$t"
done

for t in "${targets[@]}"; do
    seed "$t"
    mkdir -p "regressions/$t"
    artifacts=$(mktemp -d)
    log=$(mktemp)
    start=$(date +%s)
    case $t in capture_file) max=65536 ;; frame) max=4096 ;; tracker | renderers) max=8192 ;; *) max=64 ;; esac
    set +e
    "$bin_dir/$t" "corpus/$t" -artifact_prefix="$artifacts/" -max_total_time="$secs" \
        -print_final_stats=1 -max_len=$max -rss_limit_mb=1024 -malloc_limit_mb=512 -timeout=10 \
        >"$log" 2>&1
    rc=$?
    set -e
    end=$(date +%s)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    crashes=0
    for a in "$artifacts"/*; do
        [ -e "$a" ] || continue
        cp "$a" "regressions/$t/"
        crashes=$((crashes + 1))
    done
    line="$(date -u +%FT%TZ) $t seconds=$((end - start)) execs=${execs:-?} exit=$rc crashes=$crashes"
    echo "$line" | tee -a runs.log
    [ $rc -eq 0 ] || tail -60 "$log"
    rm -rf "$log" "$artifacts"
done
