#!/usr/bin/python3
"""haystack_sig.py - haystack-sig build and check end to end.

Builds signatures from the REAL iot_wild CSVs (shared/testdata/iot_wild)
with passive DNS that this test writes, so the right answer is known by
construction: every domain has an address of its own; the testbed's groups
share one; some domains resolve through CNAME chains; two reach the same
load balancer; the wildcard is answered below its apex; some sit on a CDN
that outside sites also use; one has no record, one only a TXT record, one
a CNAME loop. The output must be exactly the expected signature set, the
report must name every exclusion, `check` must accept the output and reject
broken files. Nothing here is random.
"""
import csv
import ipaddress
import json
import os
import subprocess
import sys
import tempfile

BIN = os.path.join(os.environ["HS_BIN_DIR"], "tools", "haystack-sig")
CSV_DIR = os.path.join(os.environ["HS_SHARED_DIR"], "testdata", "iot_wild")
CSVS = [os.path.join(CSV_DIR, f) for f in
        ("alexa_enabled.csv", "other_devices.csv", "samsung_IoT.csv")]

WILDCARD = "*.transport.home.nest.com"
WILDCARD_NAMES = {"fe1.transport.home.nest.com": "198.18.7.1",
                  "a.b.transport.home.nest.com": "198.18.7.2"}
WILDCARD_APEX = ("transport.home.nest.com", "198.18.7.3")  # not covered
CDN_EDGE, CDN_IP = "edge.cdn-test.net", "198.18.9.1"
CDN_ONLY = ["img.vidible.tv", "display.ravm.tv"]           # dropped
CDN_OUTSIDE = "www.unrelated-site.example"
FRONT_IP = "198.18.9.2"                                    # shared directly
FRONT_DOMAIN = "s.amazon-adsystem.com"                     # keeps its own
FRONT_OUTSIDE = "customer.front-end.example"
NO_RECORD = "ipv4.connman.net"
TXT_ONLY = "oauth.ring.com"
LOOP = ("ntp1.dlink.com", "ntp-loop.dlink-test.net")
LB = ("lb.roku-test.net", "198.18.8.1")                    # two domains
LB_DOMAINS = ["api.roku.com", "api.rokutime.com"]
V6 = {"api.amazon.com": "2001:db8::a", "frontdoor.nest.com": "2001:db8::b"}


def norm(name):
    name = name.lower()
    return name[:-1] if name.endswith(".") else name


def read_csvs():
    rows = []
    for path in CSVS:
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                rows.append((os.path.basename(path), norm(r["domain"]),
                             r["detection_level"], r["device"],
                             norm(r["grouped_domain"]),
                             int(float(r["port"]))))
    return rows


class Model:
    """The pDNS the test writes and the signature set it implies."""

    def __init__(self, rows):
        self.domains = sorted({r[1] for r in rows})
        self.lines = []
        self.addrs = {d: set() for d in self.domains}
        self.links = []        # pairs of domains that must end up grouped
        own = ipaddress.IPv4Address("198.18.1.1")
        for i, d in enumerate(self.domains):
            self.own(i, d, str(own + i))
        groups = {}
        for f, d, _, _, g, _ in rows:
            if g != d:
                groups.setdefault((f, g), set()).add(d)
        for k, key in enumerate(sorted(groups)):
            ip = str(ipaddress.IPv4Address("198.18.2.1") + k)
            for d in sorted(groups[key]):
                self.a(d, ip)
                self.addrs[d].add(ip)
            members = sorted(groups[key])
            self.links += [(members[0], m) for m in members[1:]]
        self.special()

    def rr(self, name, rrtype, rdata):
        self.lines.append(json.dumps({
            "rrname": name + ".", "rrtype": rrtype, "rdata": rdata,
            "time_first": 1600000000, "time_last": 1600086400,
            "count": 5}))

    def a(self, name, ip):
        self.rr(name, "AAAA" if ":" in ip else "A", [ip])

    def own(self, i, d, ip):
        """Each domain's dedicated address; the special ones differ."""
        if d in (NO_RECORD, TXT_ONLY, WILDCARD, LOOP[0]) or d in CDN_ONLY:
            return
        if d in LB_DOMAINS:
            return
        if d.endswith(".amazonaws.com"):  # a two-link chain
            lb = "lb%d.elb-test.net" % i
            self.rr(d, "CNAME", lb + ".")
            self.rr(lb, "CNAME", "host." + lb)
            self.a("host." + lb, ip)
        else:
            self.a(d, ip)
        self.addrs[d].add(ip)

    def special(self):
        for name, ip in sorted(WILDCARD_NAMES.items()):
            self.a(name, ip)
            self.addrs[WILDCARD].add(ip)
        self.a(*WILDCARD_APEX)
        for d in CDN_ONLY:
            self.rr(d, "CNAME", CDN_EDGE)
        self.rr(CDN_OUTSIDE, "CNAME", CDN_EDGE)
        self.a(CDN_EDGE, CDN_IP)
        self.a(FRONT_DOMAIN, FRONT_IP)
        self.a(FRONT_OUTSIDE, FRONT_IP)
        self.rr(TXT_ONLY, "TXT", "v=spf1 -all")
        self.rr(LOOP[0], "CNAME", LOOP[1] + ".")
        self.rr(LOOP[1], "CNAME", LOOP[0] + ".")
        for d in LB_DOMAINS:
            self.rr(d, "CNAME", LB[0])
            self.addrs[d].add(LB[1])
        self.a(*LB)
        self.links.append(tuple(LB_DOMAINS))
        for d, ip in V6.items():
            self.a(d, ip)
            self.addrs[d].add(ip)
        self.rr("mail.example", "MX", "10 mx.example.")
        self.lines.append('{"rrname": "broken.example", "rrtype": "A"')
        self.lines.append('{"rrname":"x.example","rrtype":"A","rdata":"::1"}')

    def expected(self, rows):
        """groups: name -> {ip: sorted ports}; sigs: id -> group names."""
        ports = {}
        for _, d, _, _, _, p in rows:
            ports.setdefault(d, set()).add(p)
        kept = sorted(d for d in self.domains if self.addrs[d])
        parent = {d: d for d in kept}

        def find(d):
            while parent[d] != d:
                d = parent[d]
            return d
        for x, y in self.links:
            if x in parent and y in parent:
                rx, ry = find(x), find(y)
                parent[max(rx, ry)] = min(rx, ry)
        groups = {}
        for d in kept:
            eps = groups.setdefault(find(d), {})
            for ip in self.addrs[d]:
                eps.setdefault(ip, set()).update(ports[d])
        sigs = {}
        for _, d, level, _, _, _ in rows:
            if d in parent:
                sigs.setdefault(level, set()).add(find(d))
        members = {}
        for d in kept:
            members.setdefault(find(d), []).append(d)
        return ({g: {ip: sorted(p) for ip, p in eps.items()}
                 for g, eps in groups.items()},
                {s: sorted(g) for s, g in sigs.items()}, members)


def run(*args, ok=True):
    p = subprocess.run([BIN, *args], capture_output=True, text=True,
                       timeout=60)
    if ok and p.returncode != 0:
        sys.exit("haystack-sig %s failed (%d):\n%s" % (
            " ".join(args), p.returncode, p.stderr))
    return p


def check(cond, what):
    if not cond:
        sys.exit("FAIL: " + what)


def read_output(path):
    """The built file as (groups, sigs, members, levels), format-neutral."""
    with open(path) as f:
        doc = json.load(f)
    groups, members = {}, {}
    for d in doc["domains"]:
        eps = {}
        for e in d["endpoints"]:
            net = ipaddress.ip_network(e["prefix"])
            check(net.num_addresses == 1, "host prefix " + e["prefix"])
            eps[str(net.network_address)] = e["ports"]
        groups[d["name"]] = eps
        check(set(d) <= {"name", "endpoints", "comment"}, "domain keys")
        prefix = "grouped (shared addresses): "
        if "comment" in d:
            check(d["comment"].startswith(prefix), "members comment")
            members[d["name"]] = d["comment"][len(prefix):].split(", ")
        else:
            members[d["name"]] = [d["name"]]
    sigs = {s["id"]: s["domains"] for s in doc["signatures"]}
    levels = {s["id"]: s["level"] for s in doc["signatures"]}
    return doc, groups, sigs, members, levels


def main():
    rows = read_csvs()
    model = Model(rows)
    with tempfile.TemporaryDirectory(prefix="hs-sig-") as tmp:
        run_all(rows, model, tmp)


def run_all(rows, model, tmp):
    want_groups, want_sigs, want_members = model.expected(rows)
    pdns = os.path.join(tmp, "pdns.jsonl")
    with open(pdns, "w") as f:
        f.write("\n".join(model.lines) + "\n")
    out = os.path.join(tmp, "sig.json")
    args = []
    for c in CSVS:
        args += ["--domains", c]
    p = run("build", *args, "--pdns", pdns, "-o", out,
            "--level", "echo_cat=platform")
    doc, groups, sigs, members, levels = read_output(out)

    check(groups == want_groups, "groups/endpoints differ: %s" % sorted(
        g for g in set(groups) | set(want_groups)
        if groups.get(g) != want_groups.get(g))[:5])
    check(members == want_members, "group members differ")
    check(sigs == want_sigs, "signatures differ: %s" % sorted(
        set(sigs) ^ set(want_sigs)))
    check(len(sigs) == 37, "37 detection levels, got %d" % len(sigs))
    check(levels["echo_cat"] == "platform", "--level applies")
    check(levels["firetv_cat"] == "product", "product is the default")
    for s in doc["signatures"]:
        check("rule" not in s, "no rule unless asked")
    # the groups the construction implies, spelled out for the reader
    check(members["api.roku.com"] == ["api.roku.com", "api.rokutime.com"],
          "a shared load balancer groups its domains")
    check(members["avs-alexa-18-eu.amazon.com"] == [
        "avs-alexa-18-eu.amazon.com", "avs-alexa-4-eu.amazon.com",
        "avs-alexa-5-eu.amazon.com", "avs-alexa-eu.amazon.com"],
        "the testbed's new_domain_1 comes back from a shared address")
    check(groups[WILDCARD] == {"198.18.7.1": [9543], "198.18.7.2": [9543]},
          "the wildcard covers names below its apex only")
    check(FRONT_IP not in groups[FRONT_DOMAIN], "shared front end excluded")
    check(len(groups[FRONT_DOMAIN]) == 1, "own address kept")
    for d in CDN_ONLY + [NO_RECORD, TXT_ONLY, LOOP[0]]:
        check(not any(d in m for m in members.values()), d + " dropped")
    check(members["kms.us-east-1.amazonaws.com"] ==
          ["kms.us-east-1.amazonaws.com"], "a CNAME chain resolves")

    err = p.stderr
    for line in (
            "pdns.jsonl:%d: skipped: not valid JSON" % (len(model.lines) - 1),
            "pdns.jsonl:%d: skipped: A rdata is not an IPv4 address"
            % len(model.lines),
            "shared %s: also serves %s (outside the set); left out of "
            "display.ravm.tv img.vidible.tv" % (CDN_IP, CDN_OUTSIDE),
            "shared %s: also serves %s (outside the set); left out of %s"
            % (FRONT_IP, FRONT_OUTSIDE, FRONT_DOMAIN),
            "dropped display.ravm.tv: every address is shared",
            "dropped %s: no address in passive DNS" % NO_RECORD,
            "dropped %s: no address in passive DNS" % TXT_ONLY,
            "%s: CNAME chain loops at %s" % (LOOP[0], LOOP[0]),
    ):
        check(line in err, "report lacks %r:\n%s" % (line, err))

    # deterministic: the CSVs in another order give the same bytes
    out2 = os.path.join(tmp, "sig2.json")
    rev = []
    for c in reversed(CSVS):
        rev += ["--domains", c]
    run("build", *rev, "--pdns", pdns, "-o", out2, "-q",
        "--level", "echo_cat=platform")
    check(open(out, "rb").read() == open(out2, "rb").read(),
          "output depends on input order")

    # rules only when asked
    out3 = os.path.join(tmp, "sig3.json")
    p3 = run("build", *args, "--pdns", pdns, "-o", out3, "--min-domains",
        "2", "--window", "12h")
    for s in json.load(open(out3))["signatures"]:
        want = {"min_domains": min(2, len(s["domains"])), "window": "12h"}
        check(s["rule"] == want, "rule written: %r" % s.get("rule"))
    lone = min(k for k, v in want_sigs.items() if len(v) == 1)
    check("signature %s: min_domains capped at 1" % lone in p3.stderr,
          "capped rule reported: " + p3.stderr)

    # check accepts the build and rejects broken files
    c = run("check", out)
    nprefix = sum(len(g) for g in want_groups.values())
    check("%d signatures, %d domains, %d prefixes" % (
        len(want_sigs), len(want_groups), nprefix) in c.stdout,
        "check summary: " + c.stdout)
    broken = os.path.join(tmp, "broken.json")
    with open(broken, "w") as f:
        f.write(open(out).read()[:-40])
    c = run("check", broken, ok=False)
    check(c.returncode == 1 and "broken.json" in c.stderr,
          "truncated file rejected: %d %s" % (c.returncode, c.stderr))
    doc["signatures"][0]["domains"].append("no-such-domain.example")
    with open(broken, "w") as f:
        json.dump(doc, f)
    c = run("check", broken, ok=False)
    check(c.returncode == 1 and "no-such-domain.example" in c.stderr,
          "unknown domain rejected: %d %s" % (c.returncode, c.stderr))

    # a bad CSV row is reported with file:line and skipped
    extra = os.path.join(tmp, "extra.csv")
    with open(extra, "w") as f:
        f.write("domain,detection_level,device,grouped_domain,domain_id,port\n"
                "API.Amazon.com.,extra,dev,g,1,443.0\n"
                "x..y,extra,dev,g,2,443\n"
                "api.amazon.com,extra,dev,g,1,http\n")
    c = run("build", "--domains", extra, "--pdns", pdns)
    check("extra.csv:3: skipped: bad domain name" in c.stderr and
          "extra.csv:4: skipped: bad port (1-65535)" in c.stderr and
          "extra.csv: 1 rows used, 2 bad rows" in c.stderr,
          "bad CSV rows reported: " + c.stderr)
    check(json.loads(c.stdout)["signatures"][0]["domains"] ==
          ["api.amazon.com"], "the good row is used (output on stdout)")

    # failures: unusable inputs, usage
    bad = os.path.join(tmp, "bad.jsonl")
    with open(bad, "w") as f:
        f.write("nonsense\n{}\n")
    c = run("build", *args, "--pdns", bad, ok=False)
    check(c.returncode == 1 and "no line is a passive DNS record" in c.stderr,
          "all-bad pDNS is fatal: " + c.stderr)
    c = run("build", "--domains", CSVS[0], ok=False)
    check(c.returncode == 2, "usage error exits 2")
    c = run("build", "--domains", os.path.join(tmp, "nope.csv"), "--pdns",
            pdns, ok=False)
    check(c.returncode == 1 and "nope.csv" in c.stderr, "missing CSV")
    c = run("build", *args, "--pdns", pdns, "--level", "nope=product",
            ok=False)
    check(c.returncode == 1 and "--level nope" in c.stderr, "unknown level id")
    check(run("--help").stdout.startswith("usage:"), "--help")
    print("ok: %d signatures, %d groups, %d prefixes" % (
        len(want_sigs), len(want_groups), nprefix))


if __name__ == "__main__":
    main()
