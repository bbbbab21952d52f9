#!/usr/bin/python3
"""Proves the exporter harness against nfdump's nfcapd, a collector nobody
here wrote: if softflowd and pmacctd, replaying a generated capture, land in
nfcapd exactly as hs_pcap predicts, the harness (capture, exporters,
comparison) is right, and a haystackd failure in the same cases is
haystackd's.  Runs in about 30 seconds.

nfcapd 1.7.1's own limits, not the exporters': it takes no sampling interval
from softflowd's options records (the announcement is checked on the wire
instead), and it misreads softflowd's sysUpTime-based IPFIX times (start
after end), so those are not checked here.

Usage: exporters_nfcapd.py [CASE ...]   (default: all; names as printed)
Exit status 0 when every case passed, 1 otherwise, 77 when a program is
missing (ctest reports it as a failure with that message).
"""

import dataclasses
import os
import sys

import hs_collectors
import hs_pcap
import hs_suite
import hs_util

SEED = 20201027  # IMC 2020, where the method was published
CONVERSATIONS = 300
PERIOD = 3 * 3600.0  # three hours of a line's life, replayed at once


def nfcapd_cases():
    cases = []
    for case in hs_suite.standard_cases():
        case = dataclasses.replace(case, record_sampling=None)
        if case.name == "softflowd-v10":
            case = dataclasses.replace(case, times=None)
        cases.append(case)
    return cases


def main(argv):
    missing = hs_util.require_programs("softflowd", "pmacctd", "nfcapd", "nfdump")
    if missing:
        print(f"SKIP: not installed: {' '.join(missing)}")
        return 77
    with hs_util.temp_dir() as workdir:
        capture = hs_pcap.generate(os.path.join(workdir, "iot.pcap"), SEED, CONVERSATIONS,
                                   period=PERIOD)
        flows, packets = capture.counts()
        print(f"capture: {CONVERSATIONS} conversations, {flows} flows, {packets} packets, "
              f"seed {SEED}")
        failed = hs_suite.run_cases(nfcapd_cases(), capture, hs_collectors.NfcapdCollector,
                                    workdir, only=argv[1:])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
