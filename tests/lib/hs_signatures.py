"""Reading a signature file (docs/signatures.md) to aim test traffic at its
endpoints, and the TCP conversations that carry it."""

import json

from scapy.all import IP, IPv6, TCP, Ether

import hs_util

# fixed MAC addresses: scapy would otherwise try to resolve them
ETHER = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")


def load(path):
    """({domain name: domain}, [signatures]) of a signature file."""
    with open(path) as f:
        doc = json.load(f)
    return {d["name"]: d for d in doc["domains"]}, doc["signatures"]


def endpoint(domain, family):
    """An (address, port) of the domain's endpoints in that family, or None."""
    for e in domain["endpoints"]:
        addr = e["prefix"].split("/")[0]
        if (":" in addr) == (family == 6) and e.get("ports"):
            return addr, e["ports"][0]
    return None


def endpoints(path, sig_id, n, family=4):
    """One (address, port) for each of the first n domains of a signature
    that have an endpoint of that family."""
    domains, signatures = load(path)
    sig = next(s for s in signatures if s["id"] == sig_id)
    found = [endpoint(domains[name], family) for name in sig["domains"]]
    found = [e for e in found if e][:n]
    if len(found) < n:
        raise hs_util.HarnessError(f"{sig_id}: fewer than {n} IPv{family} endpoints")
    return found


def conversation(client, server, dport, t, sport):
    """A complete TCP conversation (SYN .. FIN) starting at time t."""
    l3 = IPv6 if ":" in client else IP
    pkts = []
    for i, flags in enumerate(["S", "SA", "A", "PA", "FA", "A"]):
        up = i % 2 == 0
        src, dst = (client, server) if up else (server, client)
        sp, dp = (sport, dport) if up else (dport, sport)
        p = ETHER / l3(src=src, dst=dst) / TCP(sport=sp, dport=dp, flags=flags)
        p.time = t + i * 0.05
        pkts.append(p)
    return pkts
