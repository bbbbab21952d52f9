#!/usr/bin/python3
"""End to end: a capture aimed at the shipped signatures' endpoints is
replayed by softflowd (IPFIX, millisecond times) into haystackd, and the
events on its stdout must be exactly the ones the rule predicts:

- a subscriber that reaches every domain of a signature: detected, for
  that signature and every other one whose rule its domains satisfy;
- a subscriber that reaches only one domain, below min_domains: nothing;
- a subscriber that reaches only shared addresses (CDN front ends that
  haystack-sig left out of the signatures because passive DNS shows them
  serving other domains too: 198.18.0.9, 198.18.0.187 in
  conf/pdns-example.jsonl) or unknown ones: nothing;
- two IPv6 addresses in one /56, each reaching different domains: one
  subscriber, "2001:db8:1:100::/56", detected together;
- three hours (event time) later another subscriber's traffic moves the
  watermark: every detection above expires, once, after its window;
- events carry the subscriber's ASN, AS organisation and country from
  MaxMind's test databases (89.160.20.112: AS29518 Bredband2 AB, SE).
"""

import datetime
import os
import sys

from scapy.all import wrpcap

import hs_collectors
import hs_exporters
import hs_signatures
import hs_util

T0 = 1790000000.0  # event time of the first conversations (unix s)
WINDOW_S = 3600
MIN_DOMAINS = 2


def expected_detections(signatures, seen_by_sub):
    """{(subscriber, signature id)} the rule predicts."""
    out = set()
    for sub, seen in seen_by_sub.items():
        for s in signatures:
            n = len(seen & set(s["domains"]))
            rule = s.get("rule", {})
            if n >= rule.get("min_domains", MIN_DOMAINS) and n >= 1:
                out.add((sub, s["id"]))
    return out


def build_capture(path, domains, signatures):
    by_id = {s["id"]: s for s in signatures}
    full = [d for d in by_id["firetv_cat"]["domains"] if hs_signatures.endpoint(domains[d], 4)][:5]
    v6 = [d for d in by_id["echo_cat"]["domains"] if hs_signatures.endpoint(domains[d], 6)][:2]
    plan = []  # (client, domain name or None, server, port)
    for d in full:
        plan.append(("100.64.1.1",) + (d,) + hs_signatures.endpoint(domains[d], 4))
        plan.append(("89.160.20.112",) + (d,) + hs_signatures.endpoint(domains[d], 4))
    plan.append(("100.64.1.2", full[0]) + hs_signatures.endpoint(domains[full[0]], 4))
    for shared in ("198.18.0.9", "198.18.0.187", "198.18.200.200"):
        plan.append(("100.64.1.3", None, shared, 443))  # shared, or nobody's
    plan.append(("2001:db8:1:100::1", v6[0]) + hs_signatures.endpoint(domains[v6[0]], 6))
    plan.append(("2001:db8:1:1ff::2", v6[1]) + hs_signatures.endpoint(domains[v6[1]], 6))
    pkts, seen = [], {}
    for i, (client, dom, server, port) in enumerate(plan):
        pkts += hs_signatures.conversation(client, server, port, T0 + i, 40000 + i)
        if dom:
            sub = "2001:db8:1:100::/56" if ":" in client else client
            seen.setdefault(sub, set()).add(dom)
    # three hours later, someone else: moves event time past every window
    late = hs_signatures.endpoint(domains[full[0]], 4)
    pkts += hs_signatures.conversation("100.64.9.9", late[0], late[1], T0 + 3 * 3600, 50000)
    seen.setdefault("100.64.9.9", set()).add(full[0])
    pkts.sort(key=lambda p: p.time)
    wrpcap(path, pkts)
    return seen


def main():
    missing = hs_util.require_programs("softflowd")
    if missing:
        print(f"SKIP: not installed: {' '.join(missing)}")
        return 77
    sigfile = os.path.join(hs_util.env_path("HS_SRC_DIR"), "conf", "signatures.json")
    domains, signatures = hs_signatures.load(sigfile)
    failures = []
    with hs_util.temp_dir() as tmp:
        pcap = os.path.join(tmp, "iot.pcap")
        seen = build_capture(pcap, domains, signatures)
        mmdb = os.path.join(hs_util.env_path("HS_SHARED_DIR"), "testdata", "mmdb")
        extra = (f"[detect]\nwindow = {WINDOW_S}s\nmin_domains = {MIN_DOMAINS}\n"
                 "expire_interval = 1s\n"
                 "[output]\nstdout = true\n"
                 f"[enrich]\nasn_db = {mmdb}/GeoLite2-ASN-Test.mmdb\n"
                 f"country_db = {mmdb}/GeoLite2-Country-Test.mmdb\n")
        collector = hs_collectors.HaystackdCollector(tmp, signatures=sigfile,
                                                     extra=extra, quiet=2.5)
        with collector:
            hs_exporters.softflowd(pcap, collector.port, tmp, version=10,
                                   extra=["-A", "milli"])
            lines = collector.records()
    events = [r for r in lines if "event" in r]
    for e in events:
        for key in ("event", "time", "subscriber", "signature", "level",
                    "domains_seen", "domains_total"):
            if key not in e:
                failures.append(f"event without {key}: {e}")
    want = expected_detections(signatures, {k: v for k, v in seen.items()
                                            if k != "100.64.9.9"})
    detected = [(e["subscriber"], e["signature"]) for e in events if e["event"] == "detected"]
    expired = [(e["subscriber"], e["signature"]) for e in events if e["event"] == "expired"]
    if len(set(detected)) != len(detected):
        failures.append(f"detected more than once: {sorted(detected)}")
    if set(detected) != want:
        failures.append(f"detected {sorted(set(detected))}\n  expected {sorted(want)}")
    if sorted(expired) != sorted(detected):
        failures.append(f"expired {sorted(expired)}\n  expected one per detection")
    # windows are measured in buckets of window/16: a detection made at
    # about T0 lapses within one bucket before T0 + window
    bucket = WINDOW_S / 16
    for e in events:
        t = datetime.datetime.fromisoformat(e["time"].replace("Z", "+00:00")).timestamp()
        lo, hi = ((T0, T0 + 60) if e["event"] == "detected"
                  else (T0 + WINDOW_S - bucket, T0 + WINDOW_S + 60))
        if not lo <= t <= hi:
            failures.append(f"{e['event']} at {e['time']}, expected within "
                            f"[{lo - T0:+.0f}s, {hi - T0:+.0f}s] of T0")
    subs = {s for s, _ in detected}
    for quiet in ("100.64.1.2", "100.64.1.3", "100.64.9.9"):
        if quiet in subs:
            failures.append(f"{quiet} must not be detected")
    for e in events:
        if e["subscriber"] == "89.160.20.112":
            got = (e.get("subscriber_asn"), e.get("subscriber_as_org"),
                   e.get("subscriber_country"))
            if got != (29518, "Bredband2 AB", "SE"):
                failures.append(f"enrichment of 89.160.20.112: {got}")
        elif "subscriber_asn" in e or "subscriber_country" in e:
            failures.append(f"enrichment for an unknown address: {e}")
    if "2001:db8:1:100::/56" not in subs:
        failures.append("the two IPv6 addresses of one /56 were not aggregated")
    print(f"{len(events)} events: {len(detected)} detected, {len(expired)} expired")
    return hs_util.report(failures)


if __name__ == "__main__":
    sys.exit(main())
