"""Compare the flows a capture holds with the records a collector decoded.

Expected flows come from hs_pcap (one per direction of a conversation);
records are dicts in the haystackd `-F` JSON format (see hs_collectors).
Both exporters used here report each direction as its own record, keyed by
the 5-tuple, so records are matched by (src, dst, sport, dport, proto).

A comparison returns a Report whose `ok` says whether everything matched and
whose str() is a diff readable in a ctest log: counts first, then a bounded
list of missing, unexpected, duplicated and differing flows.

Timestamps depend on the exporter, so they are checked in one of three ways:
`times=None` skips them; "absolute" wants each record within `tolerance`
seconds of the capture's times; "offset" accepts one constant shift shared by
all records (softflowd's NetFlow v9 export in pcap mode reports sysUpTime
relative times that a collector maps to a wrong epoch, consistently).  With
`conversation_times` the reference is the conversation's first and last
packet, as softflowd and pmacctd's nfprobe stamp both directions alike.
"""

import dataclasses
import statistics

import hs_pcap

MAX_LINES = 12  # per category, so a total failure stays readable


def record_key(r):
    return (r["src"], r["dst"], int(r["sport"]), int(r["dport"]), int(r["proto"]))


@dataclasses.dataclass
class Report:
    """Outcome of a comparison: `ok`, a one-line `summary`, the `problems`."""

    summary: str = ""
    problems: list = dataclasses.field(default_factory=list)

    @property
    def ok(self):
        return not self.problems

    def problem(self, category, lines):
        """Record a category of mismatches (bounded to MAX_LINES lines)."""
        if not lines:
            return
        self.problems.append(f"{category}: {len(lines)}")
        self.problems.extend(f"  {line}" for line in lines[:MAX_LINES])
        if len(lines) > MAX_LINES:
            self.problems.append(f"  ... and {len(lines) - MAX_LINES} more")

    def __str__(self):
        return "\n".join([self.summary] + self.problems)


def _fmt(key):
    src, dst, sport, dport, proto = key
    if ":" in src:
        return f"[{src}]:{sport} > [{dst}]:{dport} p{proto}"
    return f"{src}:{sport} > {dst}:{dport} p{proto}"


def _index(records, ignore):
    """Records by key, and the keys that appear more than once."""
    by_key, dups = {}, []
    for r in records:
        k = record_key(r)
        if k in ignore:
            continue
        if k in by_key:
            dups.append(k)
        by_key.setdefault(k, []).append(r)
    return by_key, dups


def _check_fields(report, records, exporter, obs_domain, sampling):
    bad = []
    for r in records:
        if exporter is not None and r.get("exporter") != exporter:
            bad.append(f"{_fmt(record_key(r))}: exporter {r.get('exporter')!r}, want {exporter!r}")
        if obs_domain is not None and r.get("obs_domain") != obs_domain:
            bad.append(f"{_fmt(record_key(r))}: obs_domain {r.get('obs_domain')!r}, "
                       f"want {obs_domain!r}")
        if sampling is not None and r.get("sampling") != sampling:
            bad.append(f"{_fmt(record_key(r))}: sampling {r.get('sampling')!r}, want {sampling}")
    report.problem("wrong exporter/domain/sampling", bad)


def _reference_times(flow, conversation_times):
    if conversation_times:
        return flow.conv_first, flow.conv_last
    return flow.first, flow.last


def _timed(record):
    return all(isinstance(record.get(k), int) for k in ("start_ms", "end_ms"))


def _check_times(report, pairs, times, tolerance, conversation_times):
    """Check record times against the capture's; returns the offset used."""
    if times is None:
        return None
    untimed = [f"{_fmt(f.key)}: start_ms {r.get('start_ms')!r} end_ms {r.get('end_ms')!r}"
               for f, r in pairs if not _timed(r)]
    report.problem("records without times", untimed)
    pairs = [(f, r) for f, r in pairs if _timed(r)]
    if not pairs:
        return None
    deltas = []
    for f, r in pairs:
        first, last = _reference_times(f, conversation_times)
        deltas.append((r["start_ms"] / 1000.0 - first, r["end_ms"] / 1000.0 - last))
    offset = 0.0
    if times == "offset":
        offset = statistics.median(d for d, _ in deltas)
    elif times != "absolute":
        raise ValueError(f"times must be None, 'absolute' or 'offset', not {times!r}")
    # Exporters truncate to milliseconds: allow one more below the reference.
    bad = []
    for (f, r), (ds, de) in zip(pairs, deltas):
        if not (-tolerance - 0.001 <= ds - offset <= tolerance
                and -tolerance - 0.001 <= de - offset <= tolerance):
            bad.append(f"{_fmt(f.key)}: start {ds - offset:+.3f}s end {de - offset:+.3f}s "
                       f"off (start_ms {r['start_ms']}, end_ms {r['end_ms']})")
        elif r["start_ms"] > r["end_ms"]:
            bad.append(f"{_fmt(f.key)}: start_ms {r['start_ms']} after end_ms {r['end_ms']}")
    report.problem(f"times beyond {tolerance}s"
                   + (f" of the common offset {offset:+.3f}s" if times == "offset" else ""), bad)
    return offset


def compare(expected, records, times=None, tolerance=0.002, conversation_times=False,
            exporter=None, obs_domain=None, sampling=1, ignore=(hs_pcap.TRAILER_KEY,)):
    """Compare unsampled records with the expected flows, one record a flow.

    `exporter`, `obs_domain`, `sampling` (when not None) must be the value of
    every record's field; `ignore` lists keys to leave out (the pmacctd
    trailer).  See the module comment for `times` and `conversation_times`.
    """
    report = Report()
    ignore = set(ignore)
    want = {f.key: f for f in expected if f.key not in ignore}
    by_key, dups = _index(records, ignore)
    got = [r for rs in by_key.values() for r in rs]
    report.problem("missing (in the capture, not decoded)",
                   [_fmt(k) for k in want if k not in by_key])
    report.problem("unexpected (decoded, not in the capture)",
                   [_fmt(k) for k in by_key if k not in want])
    report.problem("duplicated records", [f"{_fmt(k)} x{len(by_key[k])}" for k in set(dups)])
    pairs, diffs = [], []
    for k, f in want.items():
        if k not in by_key:
            continue
        r = by_key[k][0]
        pairs.append((f, r))
        if (r["packets"], r["bytes"]) != (f.packets, f.bytes):
            diffs.append(f"{_fmt(k)}: packets {r['packets']} bytes {r['bytes']}, "
                         f"want {f.packets} / {f.bytes}")
    report.problem("counter mismatches", diffs)
    _check_fields(report, got, exporter, obs_domain, sampling)
    offset = _check_times(report, pairs, times, tolerance, conversation_times)
    wp = sum(f.packets for f in want.values())
    wb = sum(f.bytes for f in want.values())
    report.summary = (f"{len(got)}/{len(want)} flows, "
                      f"{sum(r['packets'] for r in got)}/{wp} packets, "
                      f"{sum(r['bytes'] for r in got)}/{wb} bytes"
                      + (f", time offset {offset:+.3f}s" if offset else ""))
    return report


def compare_sampled(expected, records, interval, slack=0.02, exporter=None,
                    obs_domain=None, sampling=None, ignore=(hs_pcap.TRAILER_KEY,)):
    """Compare records exported under 1-in-`interval` packet sampling.

    Which packets are sampled is the exporter's business, so each record must
    only be a flow of the capture with no more packets or bytes than it
    holds, and the packets over all records must be 1/`interval` of the
    capture's, within `slack` (a fraction) plus one packet.  `sampling`, when
    given, is the interval every record must carry.
    """
    report = Report()
    ignore = set(ignore)
    want = {f.key: f for f in expected if f.key not in ignore}
    by_key, dups = _index(records, ignore)
    got = [r for rs in by_key.values() for r in rs]
    report.problem("unexpected (decoded, not in the capture)",
                   [_fmt(k) for k in by_key if k not in want])
    over = []
    for k, rs in by_key.items():
        f = want.get(k)
        packets, octets = sum(r["packets"] for r in rs), sum(r["bytes"] for r in rs)
        if f is not None and (packets > f.packets or octets > f.bytes):
            over.append(f"{_fmt(k)}: packets {packets} bytes {octets}, "
                        f"capture has {f.packets} / {f.bytes}")
    report.problem("more than the capture holds", over)
    _check_fields(report, got, exporter, obs_domain, sampling)
    total = sum(f.packets for f in want.values())
    seen = sum(r["packets"] for r in got)
    target = total / interval
    if abs(seen - target) > slack * target + 1:
        report.problem("sampled packet total", [f"{seen} packets, want {target:.0f} "
                                                f"(1/{interval} of {total}) +-{slack:.0%}"])
    report.summary = (f"{len(got)} sampled flows of {len(want)}, {seen} packets "
                      f"(1/{interval} of {total} = {target:.0f})")
    return report
