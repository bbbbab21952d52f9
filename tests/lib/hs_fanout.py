"""Traffic from several exporters that only together make detections: the
workers tests (workers_*.py) send it so that one subscriber's evidence
arrives through exporters the kernel may hand to different workers."""

import socket
import time

import hs_collectors
import hs_craft as C
import hs_signatures
import hs_util

T0_MS = 1790000000000
EXPORTERS = 8
SUBSCRIBERS = 60


def flow(sub, server, port, t_ms, sport):
    return C.encode_record(C.FLOW4, {C.SRC4: sub, C.DST4: server, C.SPORT: sport,
                                     C.DPORT: port, C.PROTO: 6, C.PACKETS: 4,
                                     C.OCTETS: 400, C.FLOW_START_MS: t_ms - 500,
                                     C.FLOW_END_MS: t_ms})


def plan(sigfile, base=3, subscribers=SUBSCRIBERS):
    """[(exporter, record)]: subscriber k (in 100.64.base.0/23) reaches 3
    domains of firetv_cat or echo_cat, domain j through exporter
    (k + j) % EXPORTERS; every third subscriber reaches only 1 (below
    min_domains = 2). Then one late flow, three hours of event time later,
    that moves the watermark past a one-hour window."""
    sigs = ["firetv_cat", "echo_cat"]
    ends = {s: hs_signatures.endpoints(sigfile, s, 3) for s in sigs}
    out = []
    for k in range(subscribers):
        sub = f"100.64.{base + k // 200}.{1 + k % 200}"
        sig = sigs[k % 2]
        for j in range(1 if k % 3 == 0 else 3):
            server, port = ends[sig][j]
            t = T0_MS + 1000 * (k * 3 + j)
            out.append(((k + j) % EXPORTERS, flow(sub, server, port, t, 40000 + j)))
    late = ends["firetv_cat"][0]
    out.append((0, flow("100.64.9.9", late[0], late[1], T0_MS + 3 * 3600 * 1000, 50000)))
    return out


def send(records, port, pause=0.01):
    """Each exporter sends its template with each record from its own
    source port, in the plan's order, pausing every 20 datagrams (well
    under any socket buffer)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(EXPORTERS)]
    try:
        tmpl = C.template_set(10, [(256, C.FLOW4)])
        seq = [0] * EXPORTERS
        for i, (e, rec) in enumerate(records):
            msg = C.ipfix_message([tmpl, C.data_set(256, [rec])], domain=1, seq=seq[e])
            seq[e] += 1
            socks[e].sendto(msg, (hs_util.LOOPBACK4, port))
            if i % 20 == 19:
                time.sleep(pause)
    finally:
        for s in socks:
            s.close()


def collector(tmp, workers, sigfile, metrics_port, window_s=3600):
    """haystackd with `workers`, a one-hour window, min_domains = 2, events
    on stdout and metrics on metrics_port."""
    extra = (f"[collector]\nworkers = {workers}\n"
             f"[detect]\nwindow = {window_s}s\nmin_domains = 2\nexpire_interval = 1s\n"
             "[output]\nstdout = true\n"
             f"[metrics]\nlisten = 127.0.0.1:{metrics_port}\n")
    return hs_collectors.HaystackdCollector(tmp, signatures=sigfile, extra=extra, quiet=2.5)


def events(lines):
    """The events among haystackd's output lines, comparable across runs."""
    return sorted((e["event"], e["subscriber"], e["signature"], e["domains_seen"])
                  for e in lines if "event" in e)
