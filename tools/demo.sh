#!/usr/bin/env bash
# demo.sh - haystack's main job end to end, on this machine only:
# a local redis-server, haystackd with the shipped configuration and
# signatures, softflowd replaying a generated capture of households with
# IoT devices as IPFIX, and the detections arriving on the Redis channel.
# Every address is loopback; every step is bounded in time.
#
#   tools/demo.sh [BUILD_DIR]        (make demo)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
TMP=$(mktemp -d)
PIDS=()

cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

free_port() {
  /usr/bin/python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.$1); \
s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"
}
wait_for() { # seconds, command...
  local n=$(( $1 * 10 )); shift
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "demo: timed out waiting for: $*" >&2; return 1
}
step() { printf '\n== %s\n' "$*"; }

REDIS_PORT=$(free_port SOCK_STREAM)
FLOW_PORT=$(free_port SOCK_DGRAM)
METRICS_PORT=$(free_port SOCK_STREAM)

step "redis-server on 127.0.0.1:$REDIS_PORT"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$TMP" --daemonize no >"$TMP/redis.log" 2>&1 &
PIDS+=($!)
wait_for 10 redis-cli -p "$REDIS_PORT" ping

step "haystackd with conf/haystackd.conf and conf/signatures.json"
# the shipped configuration, pointed at this demo's ports and files
sed -e "s|^listen = 0.0.0.0:4739|listen = 127.0.0.1:$FLOW_PORT|" \
    -e "s|^file = /etc/haystack/signatures.json|file = $PWD/conf/signatures.json|" \
    -e "s|^url = redis://127.0.0.1:6379/0|url = redis://127.0.0.1:$REDIS_PORT/0|" \
    -e "s|^listen = 127.0.0.1:9273|listen = 127.0.0.1:$METRICS_PORT|" \
    -e "s|^file = /var/lib/haystack/state.bin|file = $TMP/state.bin|" \
    conf/haystackd.conf >"$TMP/haystackd.conf"
"$BUILD/daemon/haystackd" -t -c "$TMP/haystackd.conf"
"$BUILD/daemon/haystackd" -f -c "$TMP/haystackd.conf" 2>"$TMP/haystackd.log" &
PIDS+=($!)
wait_for 10 curl -sf "http://127.0.0.1:$METRICS_PORT/metrics"

step "subscribed to haystack:detections"
timeout 60 redis-cli -p "$REDIS_PORT" SUBSCRIBE haystack:detections \
  >"$TMP/subscriber.out" 2>&1 &
PIDS+=($!)
sleep 0.5

step "a capture of 48 subscriber lines; the ones with devices:"
/usr/bin/python3 tools/demo-capture.py conf/signatures.json "$TMP/isp.pcap" >"$TMP/owners.txt"
grep -v -e ' -$' -e packets "$TMP/owners.txt" | paste -d '|' - - - | sed 's/|/    /g' || true
tail -1 "$TMP/owners.txt"

step "softflowd replays it as IPFIX to 127.0.0.1:$FLOW_PORT"
timeout 60 softflowd -r "$TMP/isp.pcap" -n "127.0.0.1:$FLOW_PORT" -v 10 -A milli -d \
  >"$TMP/softflowd.log" 2>&1
sleep 2

step "detections received on the Redis channel"
/usr/bin/python3 - "$TMP/subscriber.out" <<'PY'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
for e in events:
    print(f'{e["event"]:9s} {e["time"]}  {e["subscriber"]:24s} {e["signature"]:18s} '
          f'{e["level"]:8s} {e["domains_seen"]}/{e["domains_total"]} domains')
print(f"{len(events)} events")
PY

step "what Redis knows about one subscriber line now"
sub=$(redis-cli -p "$REDIS_PORT" --scan --pattern 'haystack:sub:*' | head -1)
if [ -n "$sub" ]; then echo "HGETALL $sub"; redis-cli -p "$REDIS_PORT" HGETALL "$sub" | cut -c1-160; fi

step "haystackd counters"
curl -s "http://127.0.0.1:$METRICS_PORT/metrics" |
  grep -E '^haystack_(collector_(datagrams|records)_total|engine_(subscribers|detected_total|flows_matched_total)|publisher_published_total) ' || true
