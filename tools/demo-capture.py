#!/usr/bin/python3
"""demo-capture.py - a small synthetic ISP capture for `make demo`.

A few dozen subscriber lines (100.64.0.0/10, a few IPv6 /56s of
2001:db8::/32); some households own IoT devices that talk to the backends
of the shipped signatures (conf/signatures.json: addresses from the
example passive DNS, all in benchmark/documentation ranges), everybody also
browses random addresses. Devices contact their backends over two hours of
event time. Deterministic for a given seed.

Usage: demo-capture.py SIGNATURES.json OUT.pcap [SEED]
Prints, for each household, the devices it was given.
"""

import json
import random
import sys

from scapy.all import IP, IPv6, TCP, UDP, Ether, wrpcap

# fixed MAC addresses: scapy would otherwise try to resolve them
ETHER = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
DEVICES = ["echo_cat", "firetv_cat", "samsungtv-wired", "t-philips-hub",
           "fridge", "nest-tstat", "roku-tv", "ring-doorbell"]


def endpoints(domain, family):
    out = []
    for e in domain["endpoints"]:
        addr = e["prefix"].split("/")[0]
        if (":" in addr) == (family == 6):
            out.append((addr, (e.get("ports") or [443])[0], e.get("proto", "any")))
    return out


def conversation(rng, client, server, dport, proto, t):
    l3 = IPv6 if ":" in client else IP
    sport = rng.randrange(32768, 61000)
    if proto == "udp":
        flags = [None, None]
    else:
        flags = ["S", "SA", "A", "PA", "FA", "A"]
    pkts = []
    for i, f in enumerate(flags):
        up = i % 2 == 0
        src, dst = (client, server) if up else (server, client)
        sp, dp = (sport, dport) if up else (dport, sport)
        l4 = UDP(sport=sp, dport=dp) / b"demo" if f is None else TCP(sport=sp, dport=dp, flags=f)
        p = ETHER / l3(src=src, dst=dst) / l4
        p.time = t + i * 0.02
        pkts.append(p)
    return pkts


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    seed = int(argv[3]) if len(argv) > 3 else 2020
    rng = random.Random(seed)
    with open(argv[1]) as f:
        doc = json.load(f)
    domains = {d["name"]: d for d in doc["domains"]}
    sigs = {s["id"]: s for s in doc["signatures"]}
    devices = [d for d in DEVICES if d in sigs]
    start = 1790000000.0
    households = [f"100.64.{i // 200}.{i % 200 + 1}" for i in range(40)]
    # one delegated /56 per IPv6 household
    households += [f"2001:db8:{i + 1:x}:{rng.randrange(0, 0xff):x}00::{rng.randrange(1, 0xffff):x}"
                   for i in range(8)]
    pkts = []
    for home in households:
        family = 6 if ":" in home else 4
        owned = rng.sample(devices, rng.choice([0, 0, 1, 1, 2]))
        owned = [d for d in owned
                 if sum(1 for n in sigs[d]["domains"] if endpoints(domains[n], family)) >= 2]
        print(f"{home:28s} {', '.join(owned) or '-'}")
        for dev in owned:
            for name in sigs[dev]["domains"]:
                for addr, port, proto in endpoints(domains[name], family)[:1]:
                    t = start + rng.uniform(0, 7200)
                    pkts += conversation(rng, home, addr, port, proto, t)
        for _ in range(20):  # everyday traffic to addresses no signature has
            server = (f"203.0.113.{rng.randrange(1, 255)}" if family == 4
                      else f"2001:db8:ffff:ff::{rng.randrange(1, 0xffff):x}")
            pkts += conversation(rng, home, server, rng.choice([80, 443]), "tcp",
                                 start + rng.uniform(0, 7200))
    pkts.sort(key=lambda p: p.time)
    wrpcap(argv[2], pkts)
    print(f"{len(pkts)} packets, {len(households)} subscriber lines -> {argv[2]}")


if __name__ == "__main__":
    main(sys.argv)
