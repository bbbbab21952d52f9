#!/usr/bin/env bash
# udp_loss.sh - records/s a collector takes over loopback UDP without loss,
# haystackd against nfdump's nfcapd, in one run on the same traffic.
#
#   bench/udp_loss.sh [BUILD_DIR] [SECONDS] [ipfix|v9] [RATES...]
#
# For each collector and offered rate (datagrams/s, 25 records each): the
# collector runs pinned to CPU 0, bench_loadgen pinned to CPU 1 sends for
# SECONDS, then what the collector counted (its own counters: haystackd's
# metrics, nfcapd's exit summary) is compared with what was sent. haystackd
# matches every record against the signatures (SIGNATURES, default the
# shipped conf/signatures.json) and keeps the windows; nfcapd writes its
# files (to a temporary directory: mind its size on tmpfs). Both get
# the same 32 MiB receive buffer (net.core.rmem_max is raised for the run,
# as root, and restored). Loopback only; every step is bounded in time.
set -euo pipefail

BUILD=${1:-build}
SECONDS_PER_RATE=${2:-10}
PROTO=${3:-ipfix}
shift $(( $# < 3 ? $# : 3 ))
RATES=${*:-"80000 120000 160000 200000 240000 280000 320000"}
PORT=39500
MPORT=39501
RCVBUF=33554432
TMP=$(mktemp -d)
OLD_RMEM=$(sysctl -n net.core.rmem_max)

cleanup() {
  pkill -f "haystackd -c $TMP" 2>/dev/null || true
  pkill -f "nfcapd -b 127.0.0.1 -p $PORT" 2>/dev/null || true
  sysctl -qw net.core.rmem_max="$OLD_RMEM" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
sysctl -qw net.core.rmem_max=$RCVBUF 2>/dev/null ||
  echo "warning: cannot raise net.core.rmem_max (not root?): buffers differ" >&2

cat > "$TMP/h.conf" <<CONF
[collector]
listen = 127.0.0.1:$PORT
rcvbuf = $RCVBUF
[signatures]
file = ${SIGNATURES:-$PWD/conf/signatures.json}
[redis]
url =
[metrics]
listen = 127.0.0.1:$MPORT
CONF

wait_gone() { for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; kill -9 "$1"; }
metric() { curl -s "http://127.0.0.1:$MPORT/metrics" | awk -v n="$1" '$1==n {print $2}'; }

# Prints "received" for one run of haystackd at rate $1.
run_haystackd() {
  taskset -c 0 "$BUILD/daemon/haystackd" -c "$TMP/h.conf" -f 2>"$TMP/h.log" &
  local pid=$!
  for _ in $(seq 100); do [ -n "$(metric haystack_collector_records_total)" ] && break; sleep 0.1; done
  kill -0 $pid 2>/dev/null || { cat "$TMP/h.log" >&2; exit 1; }
  taskset -c 1 "$BUILD/bench/bench_loadgen" -t 127.0.0.1:$PORT -p "$PROTO" -r "$1" -d "$SECONDS_PER_RATE" > "$TMP/gen.out"
  local prev=-1 now
  for _ in $(seq 50); do now=$(metric haystack_collector_records_total); [ "$now" = "$prev" ] && break; prev=$now; sleep 0.2; done
  kill -TERM $pid; wait_gone $pid
  echo "${now%.*}"
}

run_nfcapd() {
  rm -rf "$TMP/nf" && mkdir "$TMP/nf"
  taskset -c 0 nfcapd -b 127.0.0.1 -p $PORT -w "$TMP/nf" -t 3600 -B $RCVBUF >"$TMP/nf.log" 2>&1 &
  local pid=$!
  sleep 1
  taskset -c 1 "$BUILD/bench/bench_loadgen" -t 127.0.0.1:$PORT -p "$PROTO" -r "$1" -d "$SECONDS_PER_RATE" > "$TMP/gen.out"
  sleep 1
  kill -TERM $pid; wait_gone $pid
  sed -n 's/.*Flows: \([0-9]*\),.*/\1/p' "$TMP/nf.log" | tail -1
}

printf "%-10s %10s %12s %12s %8s\n" collector dgrams/s offered_r/s received_r/s loss%
for collector in haystackd nfcapd; do
  best=0
  for rate in $RATES; do
    received=$(run_$collector "$rate")
    sent=$(sed -n 's/.*records=\([0-9]*\) .*/\1/p' "$TMP/gen.out")
    sent=$((sent + 25)) # the template message sent first
    loss=$(awk -v s="$sent" -v r="$received" 'BEGIN {printf "%.3f", (s - r) * 100 / s}')
    offered=$(sed -n 's/.*records_per_s=\([0-9]*\).*/\1/p' "$TMP/gen.out")
    printf "%-10s %10s %12s %12s %8s\n" "$collector" "$rate" "$offered" "$((received / SECONDS_PER_RATE))" "$loss"
    [ "$received" -ge "$sent" ] && best=$offered
  done
  echo "# $collector: highest loss-free rate ${best} records/s ($PROTO, one core)"
done
