#!/usr/bin/python3
"""make-example-pdns.py - synthetic passive DNS for the shipped example.

    tools/make-example-pdns.py CSV... > conf/pdns-example.jsonl

Writes Passive DNS COF lines (one JSON object a line) for every domain of
the given iot_wild CSVs, so that `haystack-sig build` has something to
resolve: conf/signatures.json is built from exactly this output. Nothing is
random; the same CSVs give the same bytes.

Addresses are documentation/benchmark space only: IPv4 from 198.18.0.0/15
(RFC 2544, never routed), IPv6 from 2001:db8::/32 (RFC 3849). The data shows
what the build must cope with:
  - every domain gets a dedicated address, every third a second one, every
    seventh an IPv6 address;
  - domains the testbed grouped (same grouped_domain in one CSV) share an
    address, so the build groups them again;
  - amazonaws.com names resolve through a two-link CNAME chain;
  - the wildcard *.x.y is answered by two names below x.y;
  - a few domains sit on a shared CDN whose edge name also serves unrelated
    sites (some only there: dropped; some also on their own address);
  - one domain shares a cloud front end address with an unrelated bucket;
  - one domain has no record at all;
  - MX and TXT records, which the build ignores.
"""
import csv
import ipaddress
import json
import os
import sys

# Domains whose only addresses are the shared CDN's: the build drops them.
CDN_ONLY = {"img.vidible.tv", "display.ravm.tv", "www-roku.mgo.com"}
# Domains on the CDN and on an address of their own: they keep their own.
CDN_ALSO = {"s.amazon-adsystem.com", "aax-eu.amazon-adsystem.com"}
# Unrelated sites on the same CDN edge: what makes its addresses shared.
CDN_OUTSIDE = ["www.news-example.com", "static.shop-example.org"]
# A domain on a cloud front end that an unrelated bucket name also uses.
FRONT_END = "motiondetection-eu.oss-eu-central-1.aliyuncs.com"
FRONT_END_OUTSIDE = "holiday-photos.oss-eu-central-1.aliyuncs.com"
# A domain passive DNS has never seen.
NO_RECORD = {"ipv4.connman.net"}
# Names below the wildcard that passive DNS saw.
WILDCARD_NAMES = ["frontend01", "frontend02"]

TIME_FIRST = 1600000000
TIME_LAST = 1600086400


def norm(name):
    name = name.strip().lower()
    return name[:-1] if name.endswith(".") else name


class Addresses:
    """Hands out host addresses of 198.18.0.0/15 in order."""

    def __init__(self):
        self.next = int(ipaddress.IPv4Address("198.18.0.1"))

    def take(self):
        while self.next & 0xFF in (0, 255):
            self.next += 1
        addr = ipaddress.IPv4Address(self.next)
        self.next += 1
        return str(addr)


def read_csvs(paths):
    """Sorted domains, and the testbed's groups: (file, grouped) -> domains."""
    domains, groups = set(), {}
    for path in paths:
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                d = norm(row["domain"])
                domains.add(d)
                g = norm(row["grouped_domain"])
                if g != d:
                    groups.setdefault((os.path.basename(path), g), set()).add(d)
    return sorted(domains), groups


class Writer:
    def __init__(self, out):
        self.out = out
        self.count = 0

    def rr(self, name, rrtype, rdata):
        self.count += 1
        rec = {"rrname": name + ".", "rrtype": rrtype, "rdata": rdata,
               "time_first": TIME_FIRST, "time_last": TIME_LAST,
               "count": 10 + self.count % 90}
        self.out.write(json.dumps(rec, separators=(",", ":")) + "\n")


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: make-example-pdns.py CSV...")
    domains, groups = read_csvs(sys.argv[1:])
    addrs = Addresses()
    w = Writer(sys.stdout)

    shared_of = {}
    for key in sorted(groups, key=lambda k: (k[0], sorted(groups[k]))):
        a = addrs.take()
        for d in groups[key]:
            shared_of.setdefault(d, []).append(a)

    cdn_edge = "e4711.cdn-example.net"
    cdn_addrs = [addrs.take(), addrs.take()]
    w.rr(cdn_edge, "A", cdn_addrs)
    for site in CDN_OUTSIDE:
        w.rr(site, "CNAME", cdn_edge + ".")

    for i, d in enumerate(domains):
        if d in NO_RECORD:
            continue
        if d in CDN_ONLY or d in CDN_ALSO:
            w.rr(d, "CNAME", cdn_edge + ".")
            if d in CDN_ONLY:
                continue
        owner = d
        if d.startswith("*."):
            for label in WILDCARD_NAMES:
                w.rr(label + d[1:], "A", addrs.take())
            continue
        if d.endswith(".amazonaws.com"):
            lb = d.split(".")[0] + "-lb.elb-example.net"
            w.rr(d, "CNAME", lb + ".")
            w.rr(lb, "CNAME", "ip-" + lb + ".")
            owner = "ip-" + lb
        own = [addrs.take()]
        if i % 3 == 0:
            own.append(addrs.take())
        own += shared_of.get(d, [])
        w.rr(owner, "A", own if len(own) > 1 else own[0])
        if d == FRONT_END:
            w.rr(FRONT_END_OUTSIDE, "A", own[0])
        if i % 7 == 0:
            w.rr(owner, "AAAA", "2001:db8:%x::%x" % (i, i % 5 + 1))
        if i % 11 == 0:
            w.rr(d, "TXT", "v=spf1 -all")
        if i % 13 == 0:
            w.rr(d, "MX", "10 mx." + d + ".")


if __name__ == "__main__":
    main()
