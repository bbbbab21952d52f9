#!/usr/bin/python3
"""Self-test of the Python harness in tests/lib, without any exporter.

The harness decides whether haystackd passes, so its own parts are checked
against independent readers: generated captures are re-read with scapy and
their flows recounted; crafted IPFIX / NetFlow v9 datagrams are decoded by
scapy's NetFlow dissectors and by hs_craft's parser; the comparison is fed
records with one known fault each and must name that fault; the process
helpers must kill what hangs.  Runs in a few seconds; exit 0 on pass.

Usage: harness_selftest.py [TEST ...]   (default: all; names as printed)
"""

import collections
import ipaddress
import os
import re
import socket
import sys
import time

from scapy.all import IP, TCP, IPv6, rdpcap
from scapy.layers.netflow import NetflowDataflowsetV9, NetflowHeader, netflowv9_defragment

import hs_compare
import hs_craft as C
import hs_pcap
import hs_util

FLOW_VALUES = {C.SRC4: "100.64.0.1", C.DST4: "198.18.0.5", C.SPORT: 40000, C.DPORT: 443,
               C.PROTO: 6, C.PACKETS: 3, C.OCTETS: 180, C.FLOW_START_MS: 1700000000000,
               C.FLOW_END_MS: 1700000001000}


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def _recount(path):
    """Flows of a pcap per direction, recounted from the packets themselves."""
    flows = collections.defaultdict(lambda: [0, 0, None, None])
    for pkt in rdpcap(path):
        ip = pkt[IPv6] if IPv6 in pkt else pkt[IP]
        l4 = ip.payload
        key = (ip.src, ip.dst, l4.sport, l4.dport, 6 if TCP in pkt else 17)
        f = flows[key]
        f[0] += 1
        f[1] += len(bytes(ip))
        f[2] = float(pkt.time) if f[2] is None else f[2]
        f[3] = float(pkt.time)
    return flows


def test_pcap_matches_recount(tmp):
    cap = hs_pcap.generate(os.path.join(tmp, "a.pcap"), 7, 60, period=3600)
    flows = _recount(cap.path)
    check(len(flows) == len(cap.expected),
          f"{len(flows)} flows in pcap, {len(cap.expected)} expected")
    for f in cap.expected:
        packets, octets, first, last = flows[f.key]
        check((packets, octets) == (f.packets, f.bytes), f"{f.key}: counters differ")
        check(abs(first - f.first) < 1e-6 and abs(last - f.last) < 1e-6, f"{f.key}: times differ")
        check(f.conv_first <= f.first <= f.last <= f.conv_last, f"{f.key}: conversation times")
    check(cap.packets == sum(f.packets for f in cap.expected), "packet total")
    families = {f.family for f in cap.expected}
    services = {f.service for f in cap.expected}
    check(families == {4, 6} and services == set(hs_pcap.SERVICES), f"{families} {services}")


def test_pcap_deterministic(tmp):
    paths = [os.path.join(tmp, n) for n in ("a.pcap", "b.pcap", "c.pcap")]
    a = hs_pcap.generate(paths[0], 11, 20)
    b = hs_pcap.generate(paths[1], 11, 20)
    c = hs_pcap.generate(paths[2], 12, 20)
    data = [open(p, "rb").read() for p in paths]
    check(data[0] == data[1] and a.expected == b.expected, "same seed, different capture")
    check(data[0] != data[2] and a.expected != c.expected, "different seed, same capture")


def test_pcap_tcp_complete(tmp):
    cap = hs_pcap.generate(os.path.join(tmp, "a.pcap"), 3, 30, services=["mqtt", "https"])
    by_conn = collections.defaultdict(list)
    for pkt in rdpcap(cap.path):
        t = pkt[TCP]
        ip = pkt[IPv6] if IPv6 in pkt else pkt[IP]
        by_conn[frozenset([(ip.src, t.sport), (ip.dst, t.dport)])].append(str(t.flags))
    check(len(by_conn) == 30, f"{len(by_conn)} TCP connections, want 30")
    for flags in by_conn.values():
        check(flags[:2] == ["S", "SA"] and flags[-3:] == ["FA", "FA", "A"], f"flags {flags}")


def test_pcap_chosen_endpoints(tmp):
    servers, clients = ["198.18.5.5", "2001:db8:ffff::5"], ["100.64.1.1"]
    cap = hs_pcap.generate(os.path.join(tmp, "a.pcap"), 2, 40, v6_fraction=0.5,
                           services=["https"], clients=clients, servers=servers)
    upstream = [f for f in cap.expected if f.dport == 443]
    check(len(upstream) == 40 and {f.dst for f in upstream} == set(servers), "servers")
    check({f.src for f in upstream if f.family == 4} == set(clients), "IPv4 clients")
    check(all(ipaddress.ip_address(f.src) in hs_pcap.SUBSCRIBERS6
              for f in upstream if f.family == 6), "random IPv6 clients")


def test_pcap_trailer(tmp):
    src, dst = os.path.join(tmp, "a.pcap"), os.path.join(tmp, "t.pcap")
    cap = hs_pcap.generate(src, 5, 10)
    hs_pcap.with_trailer(src, dst, 16)
    pkts = rdpcap(dst)
    check(len(pkts) == cap.packets + 16, "trailer packet count")
    tail = pkts[-16:]
    check(all(p[IP].src == hs_pcap.TRAILER_SRC for p in tail), "trailer addresses")
    check(float(tail[0].time) > float(pkts[-17].time), "trailer after the capture")


def test_craft_ipfix_scapy(tmp):
    msg = C.ipfix_message([C.template_set(10, [(256, C.FLOW4)]),
                           C.data_set(256, [C.encode_record(C.FLOW4, FLOW_VALUES)])],
                          domain=7, seq=42, export_time=1700000002)
    pkt = netflowv9_defragment([NetflowHeader(msg)])[0]
    hdr = pkt.getlayer("IPFix (Netflow V10) Header")
    check(hdr.length == len(msg) and hdr.ObservationDomainID == 7 and hdr.flowSequence == 42,
          "IPFIX header as scapy reads it")
    rec = pkt.getlayer("Netflow DataFlowset Record V9/10")
    check(rec.IPV4_SRC_ADDR == "100.64.0.1" and rec.L4_DST_PORT == 443
          and int.from_bytes(rec.IN_BYTES, "big") == 180, "IPFIX record as scapy reads it")


def test_craft_v9_scapy(tmp):
    values = dict(FLOW_VALUES)
    values.update({C.FIRST_SWITCHED: 1000, C.LAST_SWITCHED: 2000})
    options = C.options_template_set(9, 257, [(1, 4)], [(C.SAMPLING_INTERVAL, 4),
                                                        (C.SAMPLING_ALGORITHM, 1)])
    msg = C.v9_packet([C.template_set(9, [(256, C.FLOW4_V9)]), options,
                       C.data_set(257, [C.encode_record([(1, 4), (C.SAMPLING_INTERVAL, 4),
                                                         (C.SAMPLING_ALGORITHM, 1)],
                                                        {C.SAMPLING_INTERVAL: 100,
                                                         C.SAMPLING_ALGORITHM: 2})], pad=3),
                       C.data_set(256, [C.encode_record(C.FLOW4_V9, values)] * 2)],
                      source_id=3, sys_uptime=5000, unix_secs=1700000002)
    check(msg[2:4] == b"\x00\x05", "v9 count: 1 template + 1 options template + 3 records")
    pkt = netflowv9_defragment([NetflowHeader(msg)])[0]
    check(pkt.getlayer("Netflow Header V9").SourceID == 3, "v9 header as scapy reads it")
    opt = pkt.getlayer("Netflow Options Template Record V9/10 - Option")
    check(opt is not None and opt.SAMPLING_INTERVAL == 100, "v9 options record")
    data = [l for l in pkt.iterpayloads()
            if isinstance(l, NetflowDataflowsetV9) and l.templateID == 256]
    recs = data[0].records if data else []
    check(len(recs) == 2 and all(r.IPV4_DST_ADDR == "198.18.0.5" for r in recs),
          "v9 data records as scapy reads them")


def test_craft_parser_roundtrip(tmp):
    var = [(C.SRC4, 4), (82, C.VARIABLE), (C.PACKETS, 4, 29305)]
    options = C.options_template_set(10, 300, [(C.METERING_PROCESS_ID, 4)],
                                     [(C.SAMPLING_PACKET_INTERVAL, 4),
                                      (C.SAMPLING_PACKET_SPACE, 4)])
    msg = C.ipfix_message([C.template_set(10, [(256, var), (257, [])]), options,
                           C.data_set(300, [C.encode_record(
                               [(143, 4), (305, 4), (306, 4)], {305: 1, 306: 999})]),
                           C.data_set(256, [C.encode_record(var, {C.SRC4: "10.0.0.1",
                                                                  82: b"eth0" * 100,
                                                                  C.PACKETS: 9})])],
                          domain=1)
    m = C.parse_message(msg)
    check([s.kind for s in m.sets] == ["template", "options", "data", "data"], "set kinds")
    tmpls = C.parse_templates(10, m.sets[0])
    check(tmpls[0].fields == var and tmpls[1].fields == [], "templates incl. enterprise, empty")
    opt = C.parse_templates(10, m.sets[1])[0]
    check(opt.scope_count == 1 and len(opt.fields) == 3, "IPFIX options template")
    rec = C.decode_records(tmpls[0], m.sets[3].body)[0]
    check(rec[82] == b"eth0" * 100 and rec[C.PACKETS] == 9, "variable-length field (3-byte)")
    check(C.announced_sampling([msg]) == [1000], "PSAMP-style announcement")
    withdrawn = C.parse_templates(10, C.parse_message(
        C.ipfix_message([C.withdrawal_set([256, 257])])).sets[0])
    check([(t.template_id, t.fields) for t in withdrawn] == [(256, []), (257, [])], "withdrawal")


def test_craft_malformed(tmp):
    good = C.ipfix_message([C.template_set(10, [(256, C.FLOW4)])])
    for bad, what in [(C.truncate(good, 30), "truncated"),
                      (C.ipfix_message([C.template_set(10, [(256, C.FLOW4)], length=200)]),
                       "set length beyond the message"),
                      (C.ipfix_message([], length=99), "message length lies"),
                      (C.ipfix_message([], version=8), "unknown version"),
                      (C.truncate(good, 2), "shorter than a version")]:
        try:
            C.parse_message(bad)
        except ValueError:
            continue
        raise AssertionError(f"parser accepted a datagram that is {what}")
    zero = C.encode_record([(C.SRC4, 4), (99, 0)], {C.SRC4: "10.0.0.1"})
    check(zero == bytes([10, 0, 0, 1]), "zero-length field encodes to nothing")


def test_craft_send(tmp):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((hs_util.LOOPBACK4, 0))
        s.settimeout(2)
        msgs = [C.ipfix_message([], seq=i) for i in range(3)]
        check(C.send_udp(msgs, s.getsockname()[1]) == 3, "send count")
        check([s.recv(100) for _ in range(3)] == msgs, "datagrams arrive unchanged")
    try:
        C.send_udp(b"x", 9, host="192.0.2.1")
    except ValueError:
        return
    raise AssertionError("send_udp accepted a non-loopback target")


def _records(expected):
    return [{"exporter": "127.0.0.1", "obs_domain": 0, "src": f.src, "dst": f.dst,
             "sport": f.sport, "dport": f.dport, "proto": f.proto, "packets": f.packets,
             "bytes": f.bytes, "start_ms": int(f.conv_first * 1000) + 5000,
             "end_ms": int(f.conv_last * 1000) + 5000, "sampling": 1} for f in expected]


def test_compare_detects_faults(tmp):
    cap = hs_pcap.generate(os.path.join(tmp, "a.pcap"), 9, 20)
    good = _records(cap.expected)
    ok = hs_compare.compare(cap.expected, good, times="offset", conversation_times=True)
    offset = re.search(r"time offset ([-+.0-9]+)s", ok.summary)
    check(ok.ok and offset and abs(float(offset.group(1)) - 5) < 0.002,
          f"clean records rejected, or offset not 5 s:\n{ok}")
    absolute = hs_compare.compare(cap.expected, good, times="absolute", conversation_times=True)
    check(not absolute.ok and "times" in str(absolute), "5 s shift passed an absolute check")
    untimed = [dict(good[0], start_ms=None)] + good[1:]
    report = hs_compare.compare(cap.expected, untimed, times="offset", conversation_times=True)
    check(not report.ok and "without times" in str(report), f"missing time passed:\n{report}")
    faults = {
        "missing": good[1:],
        "unexpected": good + [dict(good[0], sport=1)],
        "duplicated": good + [good[0]],
        "counter": [dict(good[0], bytes=good[0]["bytes"] + 1)] + good[1:],
        "exporter": [dict(good[0], exporter="127.0.0.2")] + good[1:],
        "sampling": [dict(good[0], sampling=10)] + good[1:],
    }
    for name, records in faults.items():
        report = hs_compare.compare(cap.expected, records, exporter="127.0.0.1")
        check(not report.ok and name in str(report), f"{name} not reported:\n{report}")
    trailer = good + [dict(good[0], src=hs_pcap.TRAILER_SRC, dst=hs_pcap.TRAILER_DST,
                           sport=9, dport=9, proto=17)]
    check(hs_compare.compare(cap.expected, trailer).ok, "trailer flow not ignored")


def test_compare_sampled(tmp):
    cap = hs_pcap.generate(os.path.join(tmp, "a.pcap"), 9, 50)
    total = sum(f.packets for f in cap.expected)
    sampled, left = [], total // 10
    for r in _records(cap.expected):
        if left:
            r.update(packets=1, bytes=40, sampling=10)
            sampled.append(r)
            left -= 1
    check(hs_compare.compare_sampled(cap.expected, sampled, 10, sampling=10).ok, "sampled ok")
    check(not hs_compare.compare_sampled(cap.expected, sampled[: len(sampled) // 2], 10).ok,
          "half the sampled packets passed")
    over = [dict(sampled[0], packets=10**6)] + sampled[1:]
    check(not hs_compare.compare_sampled(cap.expected, over, 10).ok, "over-count passed")


def test_util_process_timeouts(tmp):
    started = time.monotonic()
    with hs_util.Process(["sleep", "30"], tmp) as p:
        try:
            p.wait(0.3)
        except hs_util.HarnessError:
            pass
        else:
            raise AssertionError("wait() returned for a sleeping child")
        check(not p.running(), "child still running after a wait timeout")
    with hs_util.Process(["sh", "-c", "trap '' TERM; sleep 30"], tmp) as p:
        time.sleep(0.2)
        p.stop(timeout=0.3)
        check(not p.running(), "child ignoring SIGTERM survived stop()")
    check(time.monotonic() - started < 5, "timeouts not bounded")
    try:
        hs_util.wait_for(lambda: False, 0.2, what="nothing")
    except hs_util.HarnessError as e:
        check("nothing" in str(e), "wait_for names what it waited for")
    else:
        raise AssertionError("wait_for did not time out")
    check("hello" in hs_util.run(["echo", "hello"], 5, tmp), "run() output")


def test_util_tap_and_ports(tmp):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind((hs_util.LOOPBACK4, 0))
        sink.settimeout(2)
        check(hs_util.udp_port_bound(sink.getsockname()[1]), "bound port not seen")
        with hs_util.UdpTap(sink.getsockname()[1]) as tap:
            C.send_udp([b"one", b"two"], tap.port)
            check([sink.recv(10), sink.recv(10)] == [b"one", b"two"], "tap forwards")
            check(tap.drain() == 2 and tap.datagrams == [b"one", b"two"], "tap keeps copies")
    port = hs_util.free_port("udp")
    check(not hs_util.udp_port_bound(port), "free port is bound")


TESTS = {name: fn for name, fn in globals().items() if name.startswith("test_")}


def main(argv):
    failed = 0
    for name, fn in TESTS.items():
        if argv[1:] and name not in argv[1:]:
            continue
        started = time.monotonic()
        with hs_util.temp_dir() as tmp:
            try:
                fn(tmp)
                print(f"PASS {name} ({time.monotonic() - started:.1f}s)")
            except Exception as e:  # a crash in a test is a failure, not the end
                failed += 1
                print(f"FAIL {name}: {type(e).__name__}: {e}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
