#!/usr/bin/python3
"""SIGHUP storm under load: while bench_loadgen sends IPFIX at a steady
rate over loopback, haystackd is sent SIGHUP every 50 ms (each reload
parses the configuration and the signatures in a worker thread and swaps
them in). No datagram may be lost to the reloads: every record sent is
decoded (haystackd's own counter) and the kernel dropped nothing on the
socket.
"""

import os
import re
import signal
import subprocess
import sys
import time

import hs_collectors
import hs_metrics
import hs_util

RATE = 4000          # datagrams/s, 25 records each (an ASan build, 2 cores)
SECONDS = 4


def main():
    loadgen = os.path.join(hs_util.env_path("HS_BIN_DIR"), "bench", "bench_loadgen")
    mport = hs_util.free_port("tcp")
    with hs_util.temp_dir() as tmp:
        hd = hs_collectors.HaystackdCollector(
            tmp, extra=f"[metrics]\nlisten = 127.0.0.1:{mport}\n")
        hd.start()
        try:
            gen = subprocess.Popen([loadgen, "-t", f"127.0.0.1:{hd.port}", "-r", str(RATE),
                                    "-d", str(SECONDS)], stdout=subprocess.PIPE)
            hups = 0
            deadline = time.monotonic() + SECONDS + 10
            while gen.poll() is None and time.monotonic() < deadline:
                os.kill(hd.process.pid, signal.SIGHUP)
                hups += 1
                time.sleep(0.05)
            out = gen.communicate(timeout=10)[0].decode()
            sent = int(re.search(r"records=(\d+)", out).group(1)) + 25  # + template message
            hs_util.wait_stable(lambda: hs_metrics.scrape(mport)["haystack_collector_records_total"],
                                10, quiet=1.0)
            m = hs_metrics.scrape(mport)
        finally:
            hd.process.stop(signal.SIGTERM, timeout=10)
    got = m["haystack_collector_records_total"]
    drops = hs_metrics.total(m, "haystack_socket_kernel_drops_total")
    reloads = m["haystack_reloads_total"]
    print(f"sent {sent} records, decoded {got:.0f}, kernel drops {drops:.0f}, "
          f"{hups} SIGHUPs, {reloads:.0f} reloads applied, "
          f"{m['haystack_reload_failures_total']:.0f} failed")
    ok = got == sent and drops == 0 and reloads >= 10 and \
        m["haystack_reload_failures_total"] == 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
