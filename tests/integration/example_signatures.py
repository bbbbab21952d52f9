#!/usr/bin/python3
"""example_signatures.py - the shipped example never goes stale.

conf/pdns-example.jsonl must be what tools/make-example-pdns.py writes for
the iot_wild CSVs, and conf/signatures.json what haystack-sig builds from
them, byte for byte; `haystack-sig check` must accept it. On a mismatch,
regenerate both with the commands printed.
"""
import os
import subprocess
import sys
import tempfile

SRC = os.environ["HS_SRC_DIR"]
BIN = os.path.join(os.environ["HS_BIN_DIR"], "tools", "haystack-sig")
CSV_DIR = os.path.join(os.environ["HS_SHARED_DIR"], "testdata", "iot_wild")
CSVS = [os.path.join(CSV_DIR, f) for f in
        ("alexa_enabled.csv", "other_devices.csv", "samsung_IoT.csv")]
PDNS = os.path.join(SRC, "conf", "pdns-example.jsonl")
SIGS = os.path.join(SRC, "conf", "signatures.json")
REGEN = (
    "tools/make-example-pdns.py {csvs} > conf/pdns-example.jsonl\n"
    "build/tools/haystack-sig build {doms} --pdns conf/pdns-example.jsonl "
    "-o conf/signatures.json").format(
        csvs=" ".join(CSVS), doms=" ".join("--domains " + c for c in CSVS))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def stale(what):
    sys.exit("FAIL: %s is stale; regenerate with:\n%s" % (what, REGEN))


def main():
    gen = subprocess.run([os.path.join(SRC, "tools", "make-example-pdns.py"),
                          *CSVS], capture_output=True, check=True,
                         timeout=60).stdout
    if gen != read(PDNS):
        stale(PDNS)
    with tempfile.TemporaryDirectory(prefix="hs-example-") as tmp:
        out = os.path.join(tmp, "signatures.json")
        args = [BIN, "build"]
        for c in CSVS:
            args += ["--domains", c]
        p = subprocess.run(args + ["--pdns", PDNS, "-o", out],
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            sys.exit("FAIL: build: " + p.stderr)
        if read(out) != read(SIGS):
            stale(SIGS)
        # the report shows the exclusions the example data is made of
        for line in ("shared 198.18.0.9: also serves",
                     "dropped ipv4.connman.net: no address in passive DNS",
                     "dropped img.vidible.tv: every address is shared"):
            if line not in p.stderr:
                sys.exit("FAIL: report lacks %r:\n%s" % (line, p.stderr))
    c = subprocess.run([BIN, "check", SIGS], capture_output=True, text=True,
                       timeout=60)
    if c.returncode != 0:
        sys.exit("FAIL: check: " + c.stderr)
    print(c.stdout.strip())


if __name__ == "__main__":
    main()
