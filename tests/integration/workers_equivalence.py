#!/usr/bin/python3
"""One worker and several give the same detections ([collector] workers).

Eight exporters (eight source ports: the kernel spreads them over the
workers' SO_REUSEPORT sockets) each see a part of the same subscribers'
traffic: subscriber k reaches domain j of a signature through exporter
(k + j) % 8, so no exporter alone sees enough for a detection and the
evidence of one subscriber has to meet in one shard across workers. Once
all of that is recorded, one more flow, three hours of event time later,
moves the watermark past every window. The run with `workers = 1` and the run with `workers = 2`
must print the same events (type, subscriber, signature, domains seen), and
the two-worker run must have sent hits between workers, with none dropped.
"""

import sys

import hs_fanout
import hs_metrics
import hs_util


def run(workers, sigfile, records, tmp):
    mport = hs_util.free_port("tcp")
    hd = hs_fanout.collector(tmp, workers, sigfile, mport)
    with hd:
        hs_fanout.send(records[:-1], hd.port)
        hs_util.wait_for(lambda: hs_metrics.scrape(mport)["haystack_engine_hits_total"]
                         >= len(records) - 1, 20, what="every hit recorded")
        hs_fanout.send(records[-1:], hd.port)
        # expiry needs a sweep after the late flow: wait for the events to settle
        hs_util.wait_stable(lambda: hs_metrics.scrape(mport)["haystack_engine_expired_total"],
                            15, quiet=2.5)
        m = hs_metrics.scrape(mport)
        lines = hd.records()
    return hs_fanout.events(lines), m


def main():
    sigfile = hs_util.env_path("HS_SRC_DIR") + "/conf/signatures.json"
    records = hs_fanout.plan(sigfile)
    failures = []
    with hs_util.temp_dir() as tmp1, hs_util.temp_dir() as tmp2:
        one, _ = run(1, sigfile, records, tmp1)
        two, m = run(2, sigfile, records, tmp2)
    detected = [e for e in one if e[0] == "detected"]
    expired = [e for e in one if e[0] == "expired"]
    print(f"1 worker: {len(detected)} detected, {len(expired)} expired")
    if len(detected) < hs_fanout.SUBSCRIBERS // 2 or len(expired) != len(detected):
        failures.append(f"1 worker: expected a detection and an expiry per subscriber "
                        f"with 3 domains, got {one}")
    if one != two:
        only1 = sorted(set(one) - set(two))
        only2 = sorted(set(two) - set(one))
        failures.append(f"1 and 2 workers differ:\n  only with 1: {only1}\n  only with 2: {only2}")
    per_worker = [m.get(f'haystack_worker_datagrams_total{{worker="{i}"}}', 0) for i in (0, 1)]
    forwarded = hs_metrics.total(m, "haystack_worker_hits_forwarded_total")
    dropped = hs_metrics.total(m, "haystack_worker_hits_dropped_total")
    print(f"2 workers: datagrams per worker {per_worker}, hits forwarded {forwarded:.0f}, "
          f"dropped {dropped:.0f}")
    if min(per_worker) == 0:
        failures.append("the kernel gave every exporter to one worker: nothing crossed")
    if forwarded == 0:
        failures.append("no hit crossed between workers")
    if dropped:
        failures.append(f"{dropped:.0f} hits dropped between workers")
    return hs_util.report(failures)


if __name__ == "__main__":
    sys.exit(main())
