#!/usr/bin/python3
"""haystackd keeps running and keeps what should survive when the world
around it fails:

- redis-server killed mid-run: a detection made while it is away is
  queued, and delivered (stream, state hash) once it is back on its port;
- SIGHUP with a broken signature file, a missing MaxMind database, or a
  configuration error: the reload is refused and counted, the running set
  keeps detecting; a good file afterwards is taken;
- SIGTERM: exit 0.

Flow records are crafted IPFIX aimed at the endpoints of the shipped
signatures (conf/signatures.json), sent over loopback.
"""

import json
import os
import shutil
import signal
import sys
import time

import hs_collectors
import hs_craft as C
import hs_metrics
import hs_redis
import hs_signatures
import hs_util

SIG = "firetv_cat"


def flows_to(subscriber, targets):
    now = int(time.time() * 1000)
    recs = [C.encode_record(C.FLOW4, {C.SRC4: subscriber, C.DST4: addr,
                                      C.SPORT: 40000 + i, C.DPORT: port, C.PROTO: 6,
                                      C.PACKETS: 5, C.OCTETS: 500,
                                      C.FLOW_START_MS: now - 1000, C.FLOW_END_MS: now})
            for i, (addr, port) in enumerate(targets)]
    return C.ipfix_message([C.template_set(10, [(256, C.FLOW4)]), C.data_set(256, recs)])


def metric(port, name):
    return hs_metrics.scrape(port).get(name)


class Run:
    def __init__(self):
        self.failures = []

    def check(self, ok, what):
        print(f"{'PASS' if ok else 'FAIL'} {what}", flush=True)
        if not ok:
            self.failures.append(what)

    def wait(self, cond, what, timeout=10):
        try:
            hs_util.wait_for(cond, timeout, what=what)
            return True
        except hs_util.HarnessError:
            return False


def main():
    src = hs_util.env_path("HS_SRC_DIR")
    shared = hs_util.env_path("HS_SHARED_DIR")
    run = Run()
    with hs_util.temp_dir() as tmp:
        sigfile = os.path.join(tmp, "signatures.json")
        shutil.copy(os.path.join(src, "conf", "signatures.json"), sigfile)
        asn_db = os.path.join(tmp, "asn.mmdb")
        shutil.copy(os.path.join(shared, "testdata", "mmdb", "GeoLite2-ASN-Test.mmdb"), asn_db)
        targets = hs_signatures.endpoints(sigfile, SIG, 2)
        mport = hs_util.free_port("tcp")
        with hs_redis.RedisServer(tmp) as redis:
            extra = (f"[detect]\nmin_domains = 2\nwindow = 1h\n"
                     f"[redis]\nurl = redis://127.0.0.1:{redis.port}/0\n"
                     f"stream = haystack:events\n"
                     f"[enrich]\nasn_db = {asn_db}\n"
                     f"[metrics]\nlisten = 127.0.0.1:{mport}\n")
            hd = hs_collectors.HaystackdCollector(tmp, signatures=sigfile, extra=extra)
            with hd:
                port = hd.port
                # 1. Redis up
                C.send_udp(flows_to("100.64.7.1", targets), port)
                run.check(run.wait(lambda: SIG in redis.hgetall("haystack:sub:100.64.7.1"),
                                   "state hash for 100.64.7.1"),
                          "detection published while Redis is up (state hash)")
                run.check(metric(mport, f'haystack_signature_detected_total{{signature="{SIG}"}}')
                          == 1, "counted per signature on the metrics endpoint")
                # 2. Redis killed: the next detection waits in the queue
                redis.kill()
                C.send_udp(flows_to("100.64.7.2", targets), port)
                run.check(run.wait(lambda: metric(mport, "haystack_publisher_queued") == 1,
                                   "the event queued"), "detection queued while Redis is down")
                redis.start()
                run.check(run.wait(lambda: SIG in redis.hgetall("haystack:sub:100.64.7.2"),
                                   "queued event delivered", timeout=20),
                          "queued detection delivered after Redis restarted")
                events = [json.loads(f["event"]) for _, f in redis.xrange_events("haystack:events")]
                run.check([e["subscriber"] for e in events] == ["100.64.7.2"],
                          f"stream after the restart holds the queued event ({len(events)} events)")
                # 3. reloads that must be refused
                pid = hd.process.pid
                good = open(sigfile).read()
                with open(sigfile, "w") as f:
                    f.write(good[: len(good) // 2])
                os.kill(pid, signal.SIGHUP)
                run.check(run.wait(lambda: metric(mport, "haystack_reload_failures_total") == 1,
                                   "reload refused"), "SIGHUP with a broken signature file refused")
                with open(sigfile, "w") as f:
                    f.write(good)
                os.rename(asn_db, asn_db + ".moved")
                os.kill(pid, signal.SIGHUP)
                run.check(run.wait(lambda: metric(mport, "haystack_reload_failures_total") == 2,
                                   "reload refused"), "SIGHUP with a missing MaxMind database refused")
                os.rename(asn_db + ".moved", asn_db)
                conf = hd.conf
                text = open(conf).read()
                with open(conf, "w") as f:
                    f.write(text + "\n[detect]\nwindow = soon\n")
                os.kill(pid, signal.SIGHUP)
                run.check(run.wait(lambda: metric(mport, "haystack_reload_failures_total") == 3,
                                   "reload refused"), "SIGHUP with a configuration error refused")
                C.send_udp(flows_to("100.64.7.3", targets), port)
                run.check(run.wait(lambda: SIG in redis.hgetall("haystack:sub:100.64.7.3"),
                                   "detection after refused reloads"),
                          "the running set still detects after refused reloads")
                with open(conf, "w") as f:
                    f.write(text)
                os.kill(pid, signal.SIGHUP)
                run.check(run.wait(lambda: metric(mport, "haystack_reloads_total") == 1,
                                   "good reload"), "a good reload afterwards is taken")
                run.check(hd.process.running(), "haystackd still running")
                hd.records()
                run.check(hd.exit_code == 0, f"SIGTERM: exit {hd.exit_code}")
    print("PASS" if not run.failures else f"FAIL: {len(run.failures)} checks")
    return 1 if run.failures else 0


if __name__ == "__main__":
    sys.exit(main())
