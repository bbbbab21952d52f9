#!/usr/bin/python3
"""Hostile and broken datagrams, sent over loopback to a running haystackd:
each must be dropped or skipped and counted (checked on the metrics
endpoint), and haystackd must keep decoding: after every case a good
datagram from a fresh source must come out as a flow record. Covers
truncations, bad lengths, unknown versions, templates with zero fields or
zero-length fields (the two NetFlow v9 packets that crash libfixbuf's own
translator), a withdrawal followed by data (an endless loop in libfixbuf
unguarded), and a template ID reused with another layout.
"""

import sys

import hs_collectors
import hs_craft as C
import hs_metrics
import hs_util

GOOD_VALUES = {C.SRC4: "100.64.0.1", C.DST4: "198.18.0.5", C.DPORT: 443,
               C.PROTO: 6, C.PACKETS: 3, C.OCTETS: 180,
               C.FLOW_START_MS: 1800000000000, C.FLOW_END_MS: 1800000000500}


def record4(sport):
    return C.encode_record(C.FLOW4, {**GOOD_VALUES, C.SPORT: sport})


def good(sport):
    """A complete, valid IPFIX message: template and one record."""
    return C.ipfix_message([C.template_set(10, [(256, C.FLOW4)]),
                            C.data_set(256, [record4(sport)])])


def v9_data(tid):
    return C.data_set(tid, [b"\x01\x02\x03\x04\x05\x06\x07\x08"])


def cases():
    tmpl = C.template_set(10, [(256, C.FLOW4)])
    full = good(1)
    v9 = C.v9_packet([C.template_set(9, [(256, C.FLOW4_V9)])])
    v6_record = C.encode_record(C.FLOW6, {C.SRC6: "2001:db8:1::7", C.DST6: "2001:db8:ffff::1",
                                          C.SPORT: 5, C.DPORT: 8883, C.PROTO: 6,
                                          C.PACKETS: 1, C.OCTETS: 60,
                                          C.FLOW_START_MS: 1800000000000,
                                          C.FLOW_END_MS: 1800000000000})
    return [
        ("ipfix-truncated-30", [C.truncate(full, 30)], {"drops:truncated": 1}),
        ("ipfix-truncated-10", [C.truncate(full, 10)], {"drops:truncated": 1}),
        ("v9-truncated-12", [C.truncate(v9, 12)], {"drops:truncated": 1}),
        ("empty-datagram", [b""], {"drops:truncated": 1}),
        ("netflow-v5", [b"\x00\x05" + b"\x00" * 70], {"drops:bad_version": 1}),
        ("ipfix-length-lies", [C.ipfix_message([tmpl], length=4000)], {"drops:truncated": 1}),
        ("ipfix-length-short", [full + b"\x00" * 20], {"drops:bad_length": 1}),
        ("set-length-past-end", [C.ipfix_message([C.data_set(256, [record4(1)], length=900)])],
         {"drops:bad_set": 1}),
        ("set-length-below-4", [C.ipfix_message([C.data_set(256, [], length=2)])],
         {"drops:bad_set": 1}),
        ("ipfix-zero-field-template-then-data",
         [C.ipfix_message([C.template_set(10, [(257, [])]), C.data_set(257, [b"\x00" * 64])])],
         {"unknown_template_sets": 1}),
        ("ipfix-zero-length-field",
         [C.ipfix_message([C.template_set(10, [(258, [(C.SRC4, 0), (C.DST4, 4)])]),
                           C.data_set(258, [b"\x00" * 8])])],
         {"bad_templates": 1, "unknown_template_sets": 1}),
        ("v9-zero-fields (libfixbuf SIGFPE)",
         [C.v9_packet([C.template_set(9, [(256, [])]), v9_data(256)])],
         {"bad_templates": 1, "unknown_template_sets": 1}),
        ("v9-zero-length-field (libfixbuf SIGFPE)",
         [C.v9_packet([C.template_set(9, [(256, [(C.SRC4, 0)])]), v9_data(256)])],
         {"bad_templates": 1, "unknown_template_sets": 1}),
        ("withdrawal-then-data (libfixbuf endless loop)",
         [C.ipfix_message([tmpl]),
          C.ipfix_message([C.withdrawal_set([256]), C.data_set(256, [record4(2)])])],
         {"templates_withdrawn": 1, "unknown_template_sets": 1}),
        ("template-id-reused-new-layout",
         [full, C.ipfix_message([C.template_set(10, [(256, C.FLOW6)]),
                                 C.data_set(256, [v6_record])])],
         {"templates_changed": 1, "records": 2}),
        ("v9-count-lies", [C.v9_packet([C.template_set(9, [(256, C.FLOW4_V9)])], count=99)], {}),
    ]


def scrape(port):
    """Metrics as {"drops:REASON" or exporter family: value}, exporters summed."""
    values = {}
    for name, value in hs_metrics.scrape(port).items():
        if name.startswith("haystack_collector_drops_total{reason="):
            values["drops:" + name.split('"')[1]] = value
        elif name.startswith("haystack_exporter_"):
            key = name[len("haystack_exporter_"):].split("{")[0].removesuffix("_total")
            values[key] = values.get(key, 0) + value
    return values


def decoded(collector, sport, timeout=10):
    """Whether a record with this source port came out within timeout."""
    try:
        return hs_util.wait_for(
            lambda: any(f'"sport":{sport},' in line for line in collector._flow_lines()),
            timeout, what=f"the record with source port {sport}")
    except hs_util.HarnessError:
        return False


def main():
    mport = hs_util.free_port("tcp")
    failed = 0
    with hs_util.temp_dir() as workdir:
        collector = hs_collectors.HaystackdCollector(
            workdir, extra=f"[metrics]\nlisten = 127.0.0.1:{mport}\n")
        with collector:
            port = collector.port
            wanted_records = 0
            for n, (name, datagrams, expect) in enumerate(cases()):
                before = scrape(mport)
                C.send_udp(datagrams, port)
                sport = 10000 + n
                C.send_udp(good(sport), port)  # must still decode
                wanted_records += 1 + expect.get("records", 0)
                ok = decoded(collector, sport)
                after = scrape(mport)
                wrong = []
                for key, delta in expect.items():
                    if key == "records":
                        continue
                    got = after.get(key, 0) - before.get(key, 0)
                    if got != delta:
                        wrong.append(f"{key} +{got:g}, expected +{delta}")
                alive = collector.process.running()
                verdict = "PASS" if ok and alive and not wrong else "FAIL"
                failed += verdict == "FAIL"
                detail = "; ".join(wrong) or ("still decoding" if ok else "no record after it")
                print(f"{verdict} {name}: {detail}", flush=True)
            records = collector.records(expect=wanted_records)
        reused = [r for r in records if r["src"] == "2001:db8:1::7"]
        if len(reused) != 1 or reused[0]["dport"] != 8883:
            print(f"FAIL template-id-reused: new layout decoded as {reused}")
            failed += 1
    print(f"{'PASS' if not failed else 'FAIL'}: {len(cases()) - failed} of "
          f"{len(cases())} cases, haystackd exited {collector.exit_code}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
