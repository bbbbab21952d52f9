#!/usr/bin/env bash
# run.sh - every benchmark once (make bench). Each prints its own table;
# docs/performance.md explains them and records numbers from this machine.
# Bounded: about 10 minutes in all on 2 cores (peers.sh with 5 s holds;
# its reference results, with 30 s holds, are in bench/results/).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
run() { printf '\n== %s\n' "$*"; "$@"; }
run "$B/bench/bench_decode" -r 5
run "$B/bench/bench_sigset"
run "$B/bench/bench_engine"
run "$B/bench/bench_enrich"
run "$B/bench/bench_conf" conf/haystackd.conf
run bench/peers.sh "$B" 5 "$B/peers-results"
