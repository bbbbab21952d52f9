#!/usr/bin/python3
"""Floods from many sources cost bounded memory, are counted, and do not
push out exporters that are sending:

- 3 000 "spoofed" sources (distinct loopback source ports, each one
  datagram with a fresh template) against max_exporters = 50: at most 50
  sessions exist, the rest are counted as exporter_limit drops, and a busy
  exporter that keeps sending throughout still has its session and its
  records decoded;
- one exporter sending 2 000 distinct templates against max_templates =
  100: the rest are refused and counted, its first templates keep working;
- records from 200 subscribers against max_subscribers = 20: the engine
  never tracks more, and what did not fit is counted;
- with `[collector] exporters = 10.0.0.0/8`, datagrams from 127.0.0.1 are
  dropped before any parsing and counted as not_allowed.
"""

import socket
import sys
import time

import hs_collectors
import hs_metrics
import hs_craft as C
import hs_util


def message(sport):
    now = int(time.time() * 1000)
    rec = C.encode_record(C.FLOW4, {C.SRC4: "100.64.0.1", C.DST4: "198.18.0.5",
                                    C.SPORT: sport, C.DPORT: 443, C.PROTO: 6,
                                    C.PACKETS: 1, C.OCTETS: 60,
                                    C.FLOW_START_MS: now, C.FLOW_END_MS: now})
    return C.ipfix_message([C.template_set(10, [(256, C.FLOW4)]), C.data_set(256, [rec])])


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def flood(results):
    mport = hs_util.free_port("tcp")
    with hs_util.temp_dir() as tmp:
        hd = hs_collectors.HaystackdCollector(
            tmp, extra=f"[collector]\nmax_exporters = 50\n"
                       f"[metrics]\nlisten = 127.0.0.1:{mport}\n")
        with hd:
            busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            busy.sendto(message(1), ("127.0.0.1", hd.port))
            rss0 = rss_kb(hd.process.pid)
            for i in range(3000):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.sendto(message(2), ("127.0.0.1", hd.port))
                if i % 100 == 0:  # the busy exporter keeps sending
                    busy.sendto(message(1), ("127.0.0.1", hd.port))
            busy.sendto(message(1), ("127.0.0.1", hd.port))
            hs_util.wait_stable(lambda: hs_metrics.scrape(mport)["haystack_collector_datagrams_total"],
                                10, quiet=0.5)
            m = hs_metrics.scrape(mport)
            rss1 = rss_kb(hd.process.pid)
            records = hd.records()
            busy.close()
    busy_records = sum(1 for r in records if r["sport"] == 1)
    flood_records = sum(1 for r in records if r["sport"] == 2)
    limit = m['haystack_collector_drops_total{reason="exporter_limit"}']
    results.append((m["haystack_collector_exporters"] <= 50,
                    f"sessions {m['haystack_collector_exporters']:.0f} <= max_exporters 50"))
    # the kernel may hand a closed socket's port to a later one, which then
    # reuses that session: every flood datagram is decoded or counted
    results.append((limit + flood_records == 3000 and limit >= 2900,
                    f"flood: {limit:.0f} datagrams counted as exporter_limit, "
                    f"{flood_records} decoded in the sessions there was room for"))
    results.append((busy_records == 32, f"busy exporter: {busy_records} of 32 records decoded"))
    results.append((rss1 - rss0 < 50 * 1024,
                    f"RSS grew {rss1 - rss0} KiB during the flood (< 50 MiB)"))


def template_flood(results):
    mport = hs_util.free_port("tcp")
    with hs_util.temp_dir() as tmp:
        hd = hs_collectors.HaystackdCollector(
            tmp, extra=f"[collector]\nmax_templates = 100\n"
                       f"[metrics]\nlisten = 127.0.0.1:{mport}\n")
        with hd:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect(("127.0.0.1", hd.port))
                s.send(message(7))  # template 256 and a record
                for first in range(300, 2300, 20):
                    s.send(C.ipfix_message([C.template_set(
                        10, [(tid, C.FLOW4) for tid in range(first, first + 20)])]))
                s.send(message(8))  # 256 is still known
            hs_util.wait_for(lambda: hs_metrics.scrape(mport)["haystack_collector_datagrams_total"] == 102,
                             10, what="102 datagrams")
            m = hs_metrics.scrape(mport)
            records = hd.records()
    refused = hs_metrics.total(m, "haystack_exporter_templates_refused_total")
    known = hs_metrics.total(m, "haystack_exporter_templates")
    results.append((known == 100 and refused == 2000 - 99,
                    f"template flood: {known:.0f} templates kept, {refused:.0f} refused"))
    results.append((sorted(r["sport"] for r in records) == [7, 8],
                    "the exporter's first template still decodes after the flood"))


def subscriber_cap(results):
    mport = hs_util.free_port("tcp")
    with hs_util.temp_dir() as tmp:
        hd = hs_collectors.HaystackdCollector(
            tmp, extra=f"[detect]\nmax_subscribers = 20\n"
                       f"[metrics]\nlisten = 127.0.0.1:{mport}\n")
        with hd:
            now = int(time.time() * 1000)
            recs = [C.encode_record(C.FLOW4, {C.SRC4: f"100.64.{i // 250}.{i % 250 + 1}",
                                              C.DST4: "198.18.0.11", C.SPORT: 40000,
                                              C.DPORT: 9543, C.PROTO: 6, C.PACKETS: 1,
                                              C.OCTETS: 60, C.FLOW_START_MS: now,
                                              C.FLOW_END_MS: now})
                    for i in range(200)]
            C.send_udp([C.ipfix_message([C.template_set(10, [(256, C.FLOW4)]),
                                         C.data_set(256, recs[k:k + 20])])
                        for k in range(0, 200, 20)], hd.port)
            hs_util.wait_for(lambda: hs_metrics.scrape(mport)["haystack_engine_flows_matched_total"] == 200,
                             10, what="200 matched flows")
            m = hs_metrics.scrape(mport)
            hd.records()
    cap = m["haystack_engine_hits_dropped_cap_total"] + m["haystack_engine_evictions_cap_total"]
    results.append((m["haystack_engine_subscribers"] <= 20 and cap >= 180,
                    f"subscriber cap: {m['haystack_engine_subscribers']:.0f} tracked, "
                    f"{cap:.0f} hits dropped or subscribers evicted at the cap"))


def acl(results):
    mport = hs_util.free_port("tcp")
    with hs_util.temp_dir() as tmp:
        hd = hs_collectors.HaystackdCollector(
            tmp, extra=f"[collector]\nexporters = 10.0.0.0/8\n"
                       f"[metrics]\nlisten = 127.0.0.1:{mport}\n")
        with hd:
            C.send_udp([message(3)] * 5, hd.port)
            hs_util.wait_for(lambda: hs_metrics.scrape(mport).get(
                'haystack_collector_drops_total{reason="not_allowed"}') == 5, 10,
                what="5 not_allowed drops")
            m = hs_metrics.scrape(mport)
            records = hd.records()
    results.append((m["haystack_collector_exporters"] == 0 and not records,
                    "datagrams from outside [collector] exporters: 5 dropped, "
                    "no session, no record"))


def main():
    results = []
    flood(results)
    template_flood(results)
    subscriber_cap(results)
    try:
        acl(results)
    except hs_util.HarnessError as e:
        results.append((False, f"ACL: {e}"))
    for ok, what in results:
        print(f"{'PASS' if ok else 'FAIL'} {what}")
    return 0 if all(ok for ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
