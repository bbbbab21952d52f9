#!/usr/bin/env bash
# peers.sh - the highest records/s haystackd, nfdump's nfcapd and pmacct's
# nfacctd each take over loopback UDP on one core without loss, in one run
# on the same generated traffic; CPU per record and peak RSS; a reload
# storm against haystackd at its loss-free rate; a CSV and a PNG plot.
#
#   bench/peers.sh [BUILD_DIR] [SECONDS] [RESULTS_DIR] [ipfix|v9] [COLLECTORS]
#
# BUILD_DIR (default build) holds daemon/haystackd and bench/bench_loadgen;
# SECONDS (default 30) is how long each rate is held; results go to
# RESULTS_DIR (default bench/results): peers.csv, peers.png, peers.txt.
# COLLECTORS (default "haystackd nfcapd nfacctd") may also name haystackd2:
# haystackd with `workers = 2` on CPUs 0 and 1, which it then shares with
# bench_loadgen (a 2-core machine has no third core for the generator); and
# haystackd0: haystackd on CPU 0 with 5 000 prefixes instead of 1 M, so that
# almost no record is a hit (0.05 % of the hit share): the same receive,
# decode and lookups with next to no matching work, haystackd's ceiling on
# this traffic.
#
# Each collector runs pinned to CPU 0, bench_loadgen pinned to CPU 1 sends
# IPFIX (or v9) datagrams of 25 IPv4 records from 16 source ports (16
# exporters, so the kernel can spread them over haystackd2's sockets), 10% of them to a random
# address of 11.0.0.0/10 (tcp 443) from a random subscriber in
# 100.64.0.0/10. haystackd matches every record against 1 M signature
# prefixes that cover 11.0.0.0/10 (bench/sigfile.py) and keeps each
# subscriber's window; nfcapd writes its files (to a disk directory, about
# 125 bytes a record, deleted after each run); nfacctd aggregates into its
# print plugin (one aggregate, written once at exit: the least work that
# still counts the records it got). Every collector gets a 32 MiB receive
# buffer (net.core.rmem_max is raised as root and restored).
#
# A rate is loss-free when the collector's own count (haystackd's
# haystack_collector_records_total, nfcapd's exit summary "Flows:",
# nfacctd's FLOWS column) equals what was sent and the kernel's drop
# counter of the socket (/proc/net/udp) stayed 0. Rates step up by half
# from 400 k records/s until two rates lose, then bisect twice between the
# best loss-free rate and the first lossy one. CPU per record is the
# collector's utime+stime (all its processes) over the hold divided by the
# records it counted; peak RSS is VmHWM (summed over nfacctd's processes).
#
# Loopback only; every step is bounded (the whole run takes about 25 x
# (SECONDS + 5) s plus the reload run).
set -euo pipefail

BUILD=${1:-build}
HOLD=${2:-30}
RESULTS=${3:-bench/results}
PROTO=${4:-ipfix}
PORT=39500
MPORT=39501
RCVBUF=33554432
START_RATE=400000       # records/s
MAX_RATE=12000000       # more than one core of bench_loadgen sends
HITS=11.0.0.0/10
GEN="$BUILD/bench/bench_loadgen"
HZ=$(getconf CLK_TCK)
OLD_RMEM=$(sysctl -n net.core.rmem_max)
TMP=$(mktemp -d)
DISK=$(mktemp -d -p /var/tmp peers.XXXXXX) # nfcapd's files: not on tmpfs
PIDS=()
# The machine's other jobs would otherwise take half of each core: the
# measured programs (all three collectors alike) run at a higher priority.
PIN0="nice -n -10 taskset -c 0"
PIN1="nice -n -10 taskset -c 1"
PIN01="nice -n -10 taskset -c 0,1"
COLLECTORS=${5:-haystackd nfcapd nfacctd}

cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  sysctl -qw net.core.rmem_max="$OLD_RMEM" 2>/dev/null || true
  rm -rf "$TMP" "$DISK"
}
trap cleanup EXIT
sysctl -qw net.core.rmem_max=$RCVBUF 2>/dev/null ||
  echo "warning: cannot raise net.core.rmem_max (not root?): buffers differ" >&2
mkdir -p "$RESULTS"
CSV=$RESULTS/peers.csv
OUT=$RESULTS/peers.txt

say() { echo "$*" | tee -a "$OUT"; }

bench/sigfile.py 1000000 "$TMP/sig.json"
bench/sigfile.py 5000 "$TMP/sig0.json"

cat > "$TMP/h.conf" <<CONF
[collector]
listen = 127.0.0.1:$PORT
rcvbuf = $RCVBUF
workers = 1
[signatures]
file = $TMP/sig.json
[redis]
url =
[state]
file =
[metrics]
listen = 127.0.0.1:$MPORT
CONF

sed 's/^workers = 1$/workers = 2/' "$TMP/h.conf" > "$TMP/h2.conf"
sed "s|^file = .*sig.json$|file = $TMP/sig0.json|" "$TMP/h.conf" > "$TMP/h0.conf"

cat > "$TMP/n.conf" <<CONF
daemonize: false
nfacctd_ip: 127.0.0.1
nfacctd_port: $PORT
nfacctd_pipe_size: $RCVBUF
plugins: print
plugin_pipe_size: 67108864
plugin_buffer_size: 65536
aggregate: none, flows
print_output: csv
print_output_file: $TMP/nfacctd.csv
print_refresh_time: 3600
CONF

# --- what a running collector shows in /proc

# The collector's process and its children (nfacctd forks its plugin).
procs() { echo "$1" $(pgrep -P "$1" || true); }
cpu_ticks() {
  local t=0 p
  for p in $(procs "$1"); do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo $t
}
peak_rss_kib() {
  local k=0 p
  for p in $(procs "$1"); do
    k=$((k + $(awk '/^VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
  done
  echo $k
}
kernel_drops() {
  awk -v port="$(printf ':%04X' $PORT)" \
    'substr($2, length($2) - 4) == port {d += $NF} END {print d + 0}' /proc/net/udp
}
bound() {
  awk -v port="$(printf ':%04X' $PORT)" \
    'substr($2, length($2) - 4) == port {n++} END {exit n == 0}' /proc/net/udp
}
wait_bound() { for _ in $(seq 300); do bound && return 0; sleep 0.1; done; return 1; }
wait_gone() { for _ in $(seq 300); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; kill -9 "$1"; }
metric() { curl -s "http://127.0.0.1:$MPORT/metrics" | awk -v n="$1" '$1==n {printf "%d", $2}'; }

# --- one collector at a time: start, count, stop

start_haystackd() {
  ${PIN:-$PIN0} "$BUILD/daemon/haystackd" -c "$TMP/${HCONF:-h.conf}" -f 2>"$TMP/h.log" &
  PID=$!
  for _ in $(seq 300); do [ -n "$(metric haystack_collector_records_total)" ] && return; sleep 0.1; done
  cat "$TMP/h.log" >&2; exit 1
}
drain_haystackd() {
  local prev=-1 now
  for _ in $(seq 50); do
    now=$(metric haystack_collector_records_total)
    [ "$now" = "$prev" ] && break
    prev=$now; sleep 0.2
  done
  RECEIVED=$now
}
stop_haystackd() { kill -TERM "$PID"; wait_gone "$PID"; }
start_haystackd2() { PIN=$PIN01 HCONF=h2.conf start_haystackd; }
drain_haystackd2() { drain_haystackd; }
stop_haystackd2() { stop_haystackd; }
start_haystackd0() { HCONF=h0.conf start_haystackd; }
drain_haystackd0() { drain_haystackd; }
stop_haystackd0() { stop_haystackd; }

start_nfcapd() {
  rm -rf "$DISK/nf" && mkdir "$DISK/nf"
  $PIN0 nfcapd -b 127.0.0.1 -p $PORT -w "$DISK/nf" -t 3600 -B $RCVBUF >"$TMP/nf.log" 2>&1 &
  PID=$!
  wait_bound
}
drain_nfcapd() { sleep 2; }
stop_nfcapd() {
  kill -TERM "$PID"; wait_gone "$PID"
  RECEIVED=$(sed -n 's/.*Flows: \([0-9]*\),.*/\1/p' "$TMP/nf.log" | tail -1)
  rm -rf "$DISK/nf"
}

start_nfacctd() {
  rm -f "$TMP/nfacctd.csv"
  $PIN0 nfacctd -f "$TMP/n.conf" >"$TMP/na.log" 2>&1 &
  PID=$!
  wait_bound
  sleep 0.5 # the plugin process attaches to its pipe
}
drain_nfacctd() { sleep 2; }
stop_nfacctd() {
  kill -INT "$PID"; wait_gone "$PID"
  RECEIVED=$(awk -F, 'NR == 2 {print $2}' "$TMP/nfacctd.csv" 2>/dev/null)
}

# run COLLECTOR RECORDS_PER_S [SIGHUP_EVERY_S]: one hold; appends a CSV
# line and sets LOSSFREE=1 or 0.
run() {
  local c=$1 rate=$2 hup=${3:-0} dgrams t0 t1 w0 w1 hups=0
  dgrams=$((rate / 25))
  start_"$c"
  t0=$(cpu_ticks "$PID")
  w0=$(date +%s.%N)
  local pin=$PIN1
  [ "$c" = haystackd2 ] && pin=$PIN01
  $pin "$GEN" -t 127.0.0.1:$PORT -p "$PROTO" -r "$dgrams" -d "$HOLD" -s 16 -H $HITS > "$TMP/gen.out" &
  local gen=$!
  PIDS+=("$gen")
  if [ "$hup" -gt 0 ]; then
    while kill -0 "$gen" 2>/dev/null; do
      sleep "$hup"; kill -0 "$gen" 2>/dev/null && kill -HUP "$PID" && hups=$((hups + 1))
    done
  fi
  wait "$gen"
  drain_"$c"
  t1=$(cpu_ticks "$PID")
  w1=$(date +%s.%N)
  local drops rss extra=""
  drops=$(kernel_drops)
  rss=$(peak_rss_kib "$PID")
  [ "${c%[02]}" = haystackd ] && extra="reloads=$(metric haystack_reloads_total) failed=$(metric haystack_reload_failures_total) subscribers=$(metric haystack_engine_subscribers) hits=$(metric haystack_engine_hits_total)"
  stop_"$c"
  RECEIVED=${RECEIVED:-0}
  local sent offered
  sent=$(( $(sed -n 's/.*records=\([0-9]*\) .*/\1/p' "$TMP/gen.out") + 25 )) # + the first template message
  offered=$(sed -n 's/.*records_per_s=\([0-9]*\).*/\1/p' "$TMP/gen.out")
  awk -v c="$c" -v p="$PROTO" -v o="$offered" -v s="$sent" -v r="$RECEIVED" -v d="$drops" \
      -v cpu="$(( t1 - t0 ))" -v hz="$HZ" -v h="$HOLD" -v w="$(awk -v a="$w0" -v b="$w1" 'BEGIN {print b - a}')" -v rss="$rss" -v hup="$hups" 'BEGIN {
    loss = s > r ? (s - r) * 100 / s : 0
    printf "%s,%s,%d,%d,%d,%.4f,%d,%.2f,%.0f,%.0f,%d,%d\n", c, p, o, s, r, loss, d,
      cpu / hz, cpu / hz * 100 / w, r ? cpu / hz * 1e9 / r : 0, rss / 1024, hup
  }' | tee -a "$CSV" > "$TMP/line"
  IFS=, read -r _ _ o _ r l d cpu u ns mb _ < "$TMP/line"
  printf "%-10s %11s %11s %9s %8s %7s %6s %8s %7s %s\n" "$c" "$o" "$((r / HOLD))" "$l" "$d" "$cpu" "$u" "$ns" "$mb" "$extra" | tee -a "$OUT"
  LOSSFREE=0
  [ "$RECEIVED" -ge "$sent" ] && [ "$drops" -eq 0 ] && LOSSFREE=1
  OFFERED=$offered
  return 0
}

# sweep COLLECTOR: sets BEST, the records/s bench_loadgen measured at the
# best loss-free hold (BEST_AT: the rate asked for), and NOTE.
sweep() {
  local c=$1 rate=$START_RATE lossy=0 bad=0 lo=0
  BEST=0 NOTE=""
  while [ $lossy -lt 2 ] && [ $rate -le $MAX_RATE ]; do
    run "$c" $rate
    if [ $LOSSFREE = 1 ]; then
      [ $bad = 0 ] && lo=$rate
      [ "$OFFERED" -gt $BEST ] && BEST=$OFFERED
    else
      lossy=$((lossy + 1)); [ $bad = 0 ] && bad=$rate
    fi
    if [ "$OFFERED" -lt $((rate * 9 / 10)) ]; then
      NOTE=" (bench_loadgen's limit: it sent $OFFERED of $rate records/s)"
      break
    fi
    rate=$((rate * 3 / 2))
  done
  BEST_AT=$lo
  [ $bad = 0 ] && return
  local hi=$bad mid
  for _ in 1 2; do
    mid=$(( (lo + hi) / 2 / 25000 * 25000 ))
    [ $mid -le $lo ] && break
    run "$c" $mid
    if [ $LOSSFREE = 1 ]; then
      lo=$mid; [ "$OFFERED" -gt $BEST ] && BEST=$OFFERED
    else
      hi=$mid
    fi
  done
  BEST_AT=$lo
}

: > "$OUT"
echo "collector,proto,offered_rps,sent,received,loss_pct,kernel_drops,cpu_s,cpu_pct,cpu_ns_per_record,peak_rss_mib,sighups" > "$CSV"
say "# $(date -u +%FT%TZ) $(uname -r), $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
say "# $HOLD s a rate, $PROTO, 25 records a datagram, 10% of records hit 1 M signature prefixes"
say "# load before: $(cut -d' ' -f1-3 /proc/loadavg)"
hdr=$(printf "%-10s %11s %11s %9s %8s %7s %6s %8s %7s" collector offered/s received/s loss% drops cpu_s cpu% ns/rec rss_MiB)
declare -A BESTS BEST_ATS
for c in $COLLECTORS; do
  say "$hdr"
  sweep $c
  BESTS[$c]=$BEST
  BEST_ATS[$c]=$BEST_AT
  say "# $c: highest loss-free rate $BEST records/s held $HOLD s$NOTE"
done

# The reload storm runs at haystackd's loss-free rate (when it was swept).
storm=${BEST_ATS[haystackd]:-0}
for rate in $( [ "$storm" -gt 0 ] && echo "$storm $((storm / 2))" ); do
  say "# reload storm: haystackd at $rate records/s, SIGHUP every second"
  say "$hdr"
  run haystackd "$rate" 1
  say "# reload storm at $rate records/s: $( [ $LOSSFREE = 1 ] && echo "no loss" || echo "LOSS")"
done

say "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
summary=""
for c in $COLLECTORS; do summary="$summary $c ${BESTS[$c]},"; done
say "# summary (records/s, loss-free for $HOLD s):$summary haystackd/nfcapd $(awk -v a="${BESTS[haystackd]:-0}" -v b="${BESTS[nfcapd]:-0}" 'BEGIN {printf "%.2f", b ? a / b : 0}')"

gnuplot <<PLOT
set terminal pngcairo size 800,500 font ",10"
set output "$RESULTS/peers.png"
set datafile separator ","
set title "Loss against offered load, one core each, $PROTO over loopback, $HOLD s a rate"
set xlabel "offered records/s (millions)"
set ylabel "records lost (%)"
set key top left
set grid
plot for [c in "$COLLECTORS"] \
  sprintf("< grep '^%s,' $CSV | awk -F, '\$12 == 0' | sort -t, -k3 -n", c) \
  using (\$3 / 1e6):6 with linespoints title c
PLOT
