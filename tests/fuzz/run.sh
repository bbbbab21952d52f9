#!/usr/bin/env bash
# Runs every fuzz target of a build (tests/fuzz/fuzz_NAME) for a bounded
# time: first over its regression inputs (tests/fuzz/regressions/NAME, each
# a crash found and fixed once), then fuzzing from its seed corpus. The
# seeds are copied to a scratch corpus, so new inputs never land in the
# source tree; crashes are kept in BUILD/fuzz-artifacts. Exits non-zero when
# any target crashed, leaked, timed out or ran out of memory.
#
#   tests/fuzz/run.sh BUILD_DIR [NAME...]
#   FUZZ_SECONDS  per target (default 30)   FUZZ_JOBS  targets at once (2)
set -euo pipefail

build=$(cd "${1:?usage: run.sh BUILD_DIR [NAME...]}" && pwd)
shift
src=$(cd "$(dirname "$0")" && pwd)
seconds=${FUZZ_SECONDS:-30}
jobs=${FUZZ_JOBS:-2}
work=$build/fuzz-work
artifacts=$build/fuzz-artifacts

if [ $# -eq 0 ]; then
    set -- $(cd "$build/tests/fuzz" && ls fuzz_* | sed 's/^fuzz_//')
fi
mkdir -p "$work" "$artifacts"

# One target: its regressions, then $seconds of fuzzing; the log in $work.
fuzz_one() {
    local name=$1 bin=$build/tests/fuzz/fuzz_$1 log=$work/$1.log
    local opts=(-rss_limit_mb=2048 -timeout=10 -max_len=8192
                "-artifact_prefix=$artifacts/$name-")
    : > "$log"
    if [ -d "$src/regressions/$name" ]; then
        "$bin" "${opts[@]}" "$src/regressions/$name"/* >> "$log" 2>&1 || return 1
    fi
    rm -rf "$work/$name" && mkdir -p "$work/$name"
    "$bin" "${opts[@]}" -max_total_time="$seconds" -print_final_stats=1 \
        "$work/$name" "$src/corpus/$name" >> "$log" 2>&1
}

running=0
for name in "$@"; do
    (if fuzz_one "$name"; then echo 0; else echo 1; fi) > "$work/$name.rc" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait

failed=0
for name in "$@"; do
    log=$work/$name.log
    if [ "$(cat "$work/$name.rc")" = 0 ]; then
        echo "PASS fuzz_$name: $(grep -E '^stat::number_of_executed_units' "$log" \
            | awk '{print $2}') runs in ${seconds}s, $(grep -oE 'cov: [0-9]+' "$log" \
            | tail -1)"
    else
        echo "FAIL fuzz_$name (log $log, inputs in $artifacts)"
        grep -E 'ERROR|runtime error|SUMMARY' "$log" | head -5 || true
        failed=1
    fi
done
exit $failed
