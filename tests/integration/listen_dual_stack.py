#!/usr/bin/python3
"""haystackd listens on every `listen` address of its configuration, IPv4
and IPv6 at once (the same port on 127.0.0.1 and [::1]): a datagram sent to
each is decoded, and the exporter address of each record is the sender's.
"""

import sys
import time

import hs_collectors
import hs_craft as C
import hs_util


def record(sport):
    return C.encode_record(C.FLOW4, {C.SRC4: "100.64.0.1", C.DST4: "198.18.0.5",
                                     C.SPORT: sport, C.DPORT: 443, C.PROTO: 6,
                                     C.PACKETS: 1, C.OCTETS: 60,
                                     C.FLOW_START_MS: int(time.time() * 1000) - 10,
                                     C.FLOW_END_MS: int(time.time() * 1000)})


def main():
    port = hs_util.free_port("udp")
    with hs_util.temp_dir() as tmp:
        hd = hs_collectors.HaystackdCollector(tmp, port=port,
                                              extra=f"[collector]\nlisten = [::1]:{port}\n")
        with hd:
            for host, sport in ((hs_util.LOOPBACK4, 1111), (hs_util.LOOPBACK6, 2222)):
                msg = C.ipfix_message([C.template_set(10, [(256, C.FLOW4)]),
                                       C.data_set(256, [record(sport)])])
                C.send_udp(msg, port, host=host)
            records = hd.records(expect=2)
    got = sorted((r["sport"], r["exporter"]) for r in records)
    want = [(1111, "127.0.0.1"), (2222, "::1")]
    print(f"records: {got}")
    print("PASS" if got == want else f"FAIL: expected {want}")
    return 0 if got == want else 1


if __name__ == "__main__":
    sys.exit(main())
