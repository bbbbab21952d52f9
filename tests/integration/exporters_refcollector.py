#!/usr/bin/python3
"""Runs every standard exporter case, unchanged, against hs_refcollector.py
driven through HaystackdCollector, as haystackd will be: proves that the
cases' expectations (exact times with -A milli, a common offset for
sysUpTime-based times, sampling taken from options records) are what a
correct collector decodes from the real exporters, and that
HaystackdCollector starts, reads and stops a `-f -F -c CONF` daemon right.
Runs in about 30 seconds.

Usage: exporters_refcollector.py [CASE ...]   (default: all)
Exit status 0 when every case passed, 1 otherwise, 77 when an exporter is
missing.
"""

import os
import sys

import hs_collectors
import hs_pcap
import hs_suite
import hs_util

SEED = 20201126
CONVERSATIONS = 300
PERIOD = 6 * 3600.0
REFCOLLECTOR = os.path.join(os.path.dirname(os.path.abspath(hs_collectors.__file__)),
                            "hs_refcollector.py")


def refcollector(workdir):
    collector = hs_collectors.HaystackdCollector(
        workdir, signatures=os.devnull, command=[sys.executable, REFCOLLECTOR])
    collector.name = "hs_refcollector"
    return collector


def main(argv):
    missing = hs_util.require_programs("softflowd", "pmacctd")
    if missing:
        print(f"SKIP: not installed: {' '.join(missing)}")
        return 77
    with hs_util.temp_dir() as workdir:
        capture = hs_pcap.generate(os.path.join(workdir, "iot.pcap"), SEED, CONVERSATIONS,
                                   period=PERIOD)
        flows, packets = capture.counts()
        print(f"capture: {CONVERSATIONS} conversations, {flows} flows, {packets} packets, "
              f"seed {SEED}")
        failed = hs_suite.run_cases(hs_suite.standard_cases(), capture, refcollector,
                                    workdir, only=argv[1:])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
