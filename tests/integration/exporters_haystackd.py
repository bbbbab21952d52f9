#!/usr/bin/python3
"""haystackd against the real exporters: softflowd (NetFlow v9, IPFIX, with
and without sampling announcements) and pmacctd's nfprobe (v9, IPFIX)
replay one generated capture of IoT-style traffic over loopback into
`haystackd -f -F`, and every decoded record must match the capture's flows:
counts, addresses, ports, protocols, packets, bytes, times, sampling.

Usage: exporters_haystackd.py [CASE ...]   (default: all)
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


def main(argv):
    missing = hs_util.require_programs("softflowd", "pmacctd")
    if missing:
        print(f"SKIP: not installed: {' '.join(missing)}")
        return 77
    with hs_util.temp_dir() as workdir:
        capture = hs_pcap.generate(os.path.join(workdir, "iot.pcap"), SEED,
                                   CONVERSATIONS, period=PERIOD)
        flows, packets = capture.counts()
        print(f"capture: {CONVERSATIONS} conversations, {flows} flows, "
              f"{packets} packets, seed {SEED}")
        failed = hs_suite.run_cases(hs_suite.standard_cases(), capture,
                                    hs_collectors.HaystackdCollector, workdir,
                                    only=argv[1:])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
