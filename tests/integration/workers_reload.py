#!/usr/bin/python3
"""Reloads while hits cross between workers keep every hit in its domain.

A hit carries the index of its grouped domain in the signature set it was
matched with; workers move to a reloaded set one after the other, so for a
moment hits of two sets are in flight between them. Here the reload
alternates between the shipped signatures and the same file with its
domains in reverse order (every index changes, no name does) every 0.1 s
while, for about 3 s, eight exporters send traffic that two workers must combine. The
events must be exactly those of one worker that never reloads: a hit
recorded under the wrong index would detect the wrong signature or miss
the right one. No hit may be counted stale (every domain exists in both).
"""

import json
import os
import shutil
import signal
import sys
import threading
import time

import hs_fanout
import hs_metrics
import hs_util

ROUNDS = 10        # the traffic plan, each time with other subscribers


def sigfile():
    return os.path.join(hs_util.env_path("HS_SRC_DIR"), "conf", "signatures.json")


def rounds_of_plan():
    """The plan without its late flow, ROUNDS times with fresh subscribers."""
    out = []
    for r in range(ROUNDS):
        out += hs_fanout.plan(sigfile(), base=3 + 2 * r)[:-1]
    return out


def reversed_sigfile(src, dst):
    with open(src) as f:
        doc = json.load(f)
    doc["domains"].reverse()
    with open(dst, "w") as f:
        json.dump(doc, f)


def run(workers, records, tmp, reload_between=None):
    sig = os.path.join(tmp, "signatures.json")
    shutil.copy(sigfile(), sig)
    mport = hs_util.free_port("tcp")
    hd = hs_fanout.collector(tmp, workers, sig, mport)
    hups = 0
    with hd:
        sender = threading.Thread(target=hs_fanout.send, args=(records, hd.port, 0.04))
        sender.start()
        while reload_between and sender.is_alive():
            time.sleep(0.1)
            shutil.copy(reload_between[hups % 2], sig)
            os.kill(hd.process.pid, signal.SIGHUP)
            hups += 1
        sender.join()
        hs_util.wait_for(lambda: hs_metrics.scrape(mport)["haystack_collector_records_total"]
                         >= len(records), 30, what="every record decoded")
        hs_util.wait_stable(lambda: hs_metrics.scrape(mport)["haystack_engine_detected_total"],
                            15, quiet=2.0)
        m = hs_metrics.scrape(mport)
        lines = hd.records()
    return hs_fanout.events(lines), m, hups


def main():
    records = rounds_of_plan()
    failures = []
    with hs_util.temp_dir() as tmp1, hs_util.temp_dir() as tmp2:
        ref, _, _ = run(1, records, tmp1)
        rev = os.path.join(tmp2, "reversed.json")
        reversed_sigfile(sigfile(), rev)
        got, m, hups = run(2, records, tmp2, reload_between=(rev, sigfile()))
    reloads = m["haystack_reloads_total"]
    stale = m["haystack_engine_hits_stale_total"]
    print(f"{len(ref)} events without reloads (1 worker); {len(got)} with 2 workers "
          f"and {hups} SIGHUPs ({reloads:.0f} reloads applied), stale hits {stale:.0f}")
    if len(ref) < ROUNDS * hs_fanout.SUBSCRIBERS // 2:
        failures.append(f"too few detections in the reference run: {len(ref)}")
    if got != ref:
        failures.append(f"events differ:\n  only without reloads: {sorted(set(ref) - set(got))}"
                        f"\n  only with reloads: {sorted(set(got) - set(ref))}")
    if reloads < 10:
        failures.append(f"only {reloads:.0f} reloads were applied during the traffic")
    if stale:
        failures.append(f"{stale:.0f} hits counted stale")
    return hs_util.report(failures)


if __name__ == "__main__":
    sys.exit(main())
