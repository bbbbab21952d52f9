#!/usr/bin/python3
"""publisher_rate.py - what the Redis publisher costs the receive path and
how many events a second it delivers, against a real redis-server.

    bench/publisher_rate.py [BUILD_DIR] [EVENTS]

BUILD_DIR (default build) holds tests/publisher_driver. For each set of
[redis] outputs (channel only; channel + stream + state hash):
- enqueue: Redis paused (SIGSTOP), so nothing drains; the time the driver
  takes to hand EVENTS events to hs_publisher_publish, per event;
- delivery: Redis resumed; events per second until Redis acknowledged all.
Loopback only; every wait bounded (60 s).
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))

import hs_redis  # noqa: E402
import hs_util  # noqa: E402

OUTPUTS = {
    "channel": "",
    "channel+stream+state": "stream = haystack:events\nstate_prefix = haystack:sub:\n",
}


def measure(tmp, name, extra, n):
    with hs_redis.RedisServer(tmp, name) as r:
        conf = hs_redis.write_conf(f"{tmp}/{name}.conf", r.port,
                                   extra=f"queue_max = {n}\n{extra}")
        with hs_redis.Driver(conf, tmp, name) as d:
            d.wait_stats(lambda s: s["connected"], 10, "connected")
            r.pause()
            started = time.perf_counter()
            d.publish(n, subscriber="198.51.100.7", signature="echo_cat")
            enqueue = time.perf_counter() - started
            started = time.perf_counter()
            r.resume()
            d.wait_stats(lambda s: s["queued"] == 0, 60, "all delivered")
            deliver = time.perf_counter() - started
            s = d.stats()
            d.close(30)
    print(f"{name:22s} enqueue {enqueue / n * 1e9:7.0f} ns/event   "
          f"delivery {n / deliver:9.0f} events/s   "
          f"(published {s['published']}, dropped {s['dropped_queue_full']})")


def main(argv):
    build = argv[1] if len(argv) > 1 else "build"
    n = int(argv[2]) if len(argv) > 2 else 200000
    os.environ["HS_BIN_DIR"] = os.path.abspath(build)
    with hs_util.temp_dir("hs-bench-") as tmp:
        for name, extra in OUTPUTS.items():
            measure(tmp, name.replace("+", "-"), extra, n)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
