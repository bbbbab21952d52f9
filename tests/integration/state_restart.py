#!/usr/bin/python3
"""Evidence survives a restart through the [state] file, and a bad state
file is refused with a clear message while the daemon starts anyway.

- run 1: subscriber 100.64.1.1 reaches one domain of a signature (below
  min_domains = 2), 100.64.1.5 two (detected); SIGTERM must exit 0 and
  leave the state file;
- run 2, same configuration: 100.64.1.1 reaches a second domain and is
  detected, which only the restored evidence explains (a daemon started
  without the file, fed the same capture, detects nothing); 100.64.1.5 is
  not announced again;
- a truncated state file and one of another format version: the log says
  which, the file is moved to FILE.refused, the daemon runs and saves a
  fresh state at SIGTERM.
"""

import os
import struct
import sys

from scapy.all import wrpcap

import hs_collectors
import hs_exporters
import hs_signatures
import hs_util

T0 = 1790000000.0
SIGNATURE = "firetv_cat"


def capture(path, plan, t):
    pkts = []
    for i, (client, (server, port)) in enumerate(plan):
        pkts += hs_signatures.conversation(client, server, port, t + i, 40000 + i)
    wrpcap(path, pkts)


class Run:
    """One haystackd life: start, replay a capture (or none), SIGTERM."""

    def __init__(self, tmp, name, sigfile, state):
        self.dir = os.path.join(tmp, name)
        os.mkdir(self.dir)
        extra = ("[detect]\nwindow = 1h\nmin_domains = 2\n"
                 "[output]\nstdout = true\n"
                 f"[state]\nfile = {state}\n")
        self.collector = hs_collectors.HaystackdCollector(
            self.dir, signatures=sigfile, extra=extra, quiet=2.0)

    def replay(self, pcap):
        with self.collector:
            if pcap:
                hs_exporters.softflowd(pcap, self.collector.port, self.dir,
                                       version=10, extra=["-A", "milli"],
                                       timeout=20.0)
            lines = self.collector.records(timeout=15.0)
            self.log = self.collector.process.stderr_text()
        self.events = [(r["event"], r["subscriber"], r["signature"])
                       for r in lines if "event" in r]
        return self


def main():
    missing = hs_util.require_programs("softflowd")
    if missing:
        print(f"SKIP: not installed: {' '.join(missing)}")
        return 77
    sigfile = os.path.join(hs_util.env_path("HS_SRC_DIR"), "conf", "signatures.json")
    e1, e2, e3 = hs_signatures.endpoints(sigfile, SIGNATURE, 3)
    failures = []

    def check(cond, what, run=None):
        if not cond:
            failures.append(what + (f"\n{run.log}" if run else ""))

    with hs_util.temp_dir() as tmp:
        state = os.path.join(tmp, "state.bin")
        first, second = os.path.join(tmp, "first.pcap"), os.path.join(tmp, "second.pcap")
        capture(first, [("100.64.1.1", e1), ("100.64.1.5", e1), ("100.64.1.5", e2)], T0)
        capture(second, [("100.64.1.1", e2), ("100.64.1.5", e3)], T0 + 120)

        r1 = Run(tmp, "run1", sigfile, state).replay(first)
        check(r1.events == [("detected", "100.64.1.5", SIGNATURE)],
              f"run 1 events: {r1.events}", r1)
        check("no state file yet" in r1.log, "run 1: no first-start message", r1)
        check("saved 2 subscribers" in r1.log, "run 1: no save message", r1)
        check(os.path.getsize(state) > 0, "run 1 left no state file")
        with open(state, "rb") as f:
            saved = f.read()

        r2 = Run(tmp, "run2", sigfile, state).replay(second)
        check("restored 2 subscribers (3 evidence entries, 1 detections)" in r2.log,
              "run 2: no restore message", r2)
        check(r2.events == [("detected", "100.64.1.1", SIGNATURE)],
              f"run 2 events: {r2.events}", r2)

        fresh = Run(tmp, "fresh", sigfile, os.path.join(tmp, "none.bin")).replay(second)
        check(fresh.events == [], f"without the state file: {fresh.events}", fresh)

        bad = {"truncated": saved[:len(saved) // 2],
               "version": saved[:8] + struct.pack("<I", 99) + saved[12:]}
        messages = {"truncated": f"{state}: truncated",
                    "version": f"{state}: state format version 99, this haystackd reads 1"}
        for name, data in bad.items():
            with open(state, "wb") as f:
                f.write(data)
            r = Run(tmp, name, sigfile, state).replay(None)
            check(messages[name] in r.log and "starting without evidence" in r.log,
                  f"{name}: not refused as expected", r)
            refused = state + ".refused"
            kept = b""
            if os.path.exists(refused):
                with open(refused, "rb") as f:
                    kept = f.read()
            check(kept == data, f"{name}: the refused file was not kept aside", r)
            check("saved 0 subscribers" in r.log, f"{name}: no fresh save", r)
            os.unlink(refused)

    return hs_util.report(failures)


if __name__ == "__main__":
    sys.exit(main())
