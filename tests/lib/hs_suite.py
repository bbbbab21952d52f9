"""The exporter-to-collector cases, runnable against any hs_collectors class.

One capture is replayed by each real exporter configuration (softflowd and
pmacctd, NetFlow v9 and IPFIX, with and without sampling) towards a fresh
collector, through a UdpTap that keeps what was sent; the decoded records
are compared with the capture's flows.  A test script picks the collector
and adjusts the cases for that collector's known limits:

    cases = [dataclasses.replace(c, record_sampling=None) for c in standard_cases()]
    sys.exit(run_cases(cases, capture, NfcapdCollector, workdir))

`make_collector(workdir)` is any callable returning an unstarted collector
(a class from hs_collectors, or a function configuring one).

What each case expects is what the exporter really sends (checked in
shared/notes/exporters.md and by tests/integration/exporters_nfcapd.py):
- both exporters report each direction of a conversation as its own record,
  stamped with the conversation's first and last packet times;
- softflowd in pcap mode exports NetFlow v9 and IPFIX times relative to a
  sysUpTime it derives from the wall clock, so without `-A milli` only a
  common offset can be checked; with `-A milli` they are the capture's;
- pmacctd's nfprobe exports the capture's times, and its `nfprobe_engine`
  as the source id / observation domain;
- softflowd `-s N` keeps 1 packet in N and announces N in an options record
  (samplingInterval in v9; samplingPacketInterval/Space in IPFIX); without
  -s it announces 1 the same way; pmacctd sends no options record.
"""

import dataclasses
import os
import time

import hs_compare
import hs_craft
import hs_exporters
import hs_util


@dataclasses.dataclass(frozen=True)
class Case:
    """One exporter configuration and what a correct collector decodes from it.

    `times`: how record times are checked (see hs_compare); `announced`: the
    sampling intervals the exporter's options records must carry (checked on
    the wire, None: skip); `record_sampling`: the `sampling` every decoded
    record must carry (None: skip); `domain`: pmacctd's observation domain
    (softflowd always uses 0), also required of every record unless None.
    """

    name: str
    exporter: str
    version: int
    sampling: int = None
    extra: tuple = ()
    times: str = None
    announced: tuple = None
    record_sampling: int = 1
    domain: int = 0


def standard_cases():
    """The cases a correct collector must pass (see the module comment)."""
    return [
        Case("softflowd-v9", "softflowd", 9, times="offset", announced=(1,)),
        Case("softflowd-v9-milli", "softflowd", 9, extra=("-A", "milli"),
             times="absolute", announced=(1,)),
        Case("softflowd-v10", "softflowd", 10, times="offset", announced=(1,)),
        Case("softflowd-v10-milli", "softflowd", 10, extra=("-A", "milli"),
             times="absolute", announced=(1,)),
        Case("pmacctd-v9", "pmacctd", 9, times="absolute", announced=(), domain=3),
        Case("pmacctd-v10", "pmacctd", 10, times="absolute", announced=(), domain=7),
        Case("softflowd-v9-s10", "softflowd", 9, sampling=10, announced=(10,),
             record_sampling=10),
        Case("softflowd-v10-s10", "softflowd", 10, sampling=10, extra=("-A", "milli"),
             announced=(10,), record_sampling=10),
    ]


def _export(case, capture, port, workdir):
    if case.exporter == "softflowd":
        return hs_exporters.softflowd(capture.path, port, workdir, version=case.version,
                                      sampling=case.sampling, extra=case.extra)
    if case.exporter == "pmacctd":
        return hs_exporters.pmacctd(capture.path, port, workdir, version=case.version,
                                    sampling=case.sampling, engine=case.domain)
    raise ValueError(f"unknown exporter {case.exporter!r}")


def run_case(case, capture, make_collector, workdir):
    """Run one case; returns a hs_compare.Report (announcement problems included)."""
    casedir = os.path.join(workdir, case.name)
    os.makedirs(casedir)
    collector = make_collector(casedir)
    with collector, hs_util.UdpTap(collector.port) as tap:
        _export(case, capture, tap.port, casedir)
        tap.drain()
        expect = None
        if not case.sampling:
            expect = len(capture.expected) + (case.exporter == "pmacctd")
        records = collector.records(expect=expect)
    common = dict(exporter=hs_util.LOOPBACK4, obs_domain=case.domain,
                  sampling=case.record_sampling)
    if case.sampling:
        report = hs_compare.compare_sampled(capture.expected, records, case.sampling, **common)
    else:
        report = hs_compare.compare(capture.expected, records, times=case.times,
                                    conversation_times=True, **common)
    if case.announced is not None:
        announced = tuple(hs_craft.announced_sampling(tap.datagrams))
        if announced != tuple(case.announced):
            report.problem("sampling announced on the wire",
                           [f"{announced}, want {tuple(case.announced)}"])
    report.summary = f"via {collector.name}: {report.summary}, {len(tap.datagrams)} datagrams"
    return report


def run_cases(cases, capture, make_collector, workdir, only=None):
    """Run `cases` (those named in `only`, if given); print one line each.

    Returns the number of failed cases (0: all passed), for sys.exit().
    """
    failed = 0
    for case in cases:
        if only and case.name not in only:
            continue
        started = time.monotonic()
        try:
            report = run_case(case, capture, make_collector, workdir)
        except hs_util.HarnessError as e:
            report = hs_compare.Report(summary="harness error", problems=[str(e)])
        verdict = "PASS" if report.ok else "FAIL"
        print(f"{verdict} {case.name} {report.summary} "
              f"({time.monotonic() - started:.1f}s)", flush=True)
        if not report.ok:
            failed += 1
            print("\n".join(report.problems), flush=True)
    return failed
