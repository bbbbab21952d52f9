#!/usr/bin/python3
"""A reference flow collector in Python, speaking haystackd's test interface.

    hs_refcollector.py -f -F -c CONF

reads `listen = HOST:PORT` from CONF's [collector] section, decodes NetFlow
v9 and IPFIX datagrams with hs_craft's parser, and prints each flow record as
one JSON line on stdout, in the haystackd `-F` format (see hs_collectors);
SIGTERM or SIGINT ends it with status 0.

It exists so the harness can prove, with no haystackd yet, that the cases in
hs_suite are passable by a collector that decodes correctly (nfcapd is not
one in every case), and that HaystackdCollector drives a daemon right.  It
is also the executable statement of the semantics the harness expects:

- templates and options are scoped per (exporter address, domain);
- `sampling` is the last interval the (exporter, domain) announced in an
  options record: samplingInterval (34), or samplingPacketInterval (305)
  and samplingPacketSpace (306) as (interval + space) / interval; else 1;
- times: flowStart/EndMilliseconds (152/153) as they are;
  flowStart/EndSeconds (150/151) times 1000; sysUpTime-relative
  first/last switched (22/21) are added to systemInitTimeMilliseconds (160)
  when announced, else to the header's export time minus its sysUpTime
  (NetFlow v9), as nfcapd does.

Not a production collector: one thread, no limits on templates.
"""

import configparser
import json
import signal
import socket
import sys

import hs_craft as C

FLOW_START_SECONDS, FLOW_END_SECONDS, SYSTEM_INIT_MS = 150, 151, 160


class Decoder:
    """Template, sampling and clock state per (exporter, domain)."""

    def __init__(self):
        self.templates = {}
        self.sampling = {}
        self.init_ms = {}

    def datagram(self, data, exporter):
        """Flow records (dicts) of one datagram; malformed ones give none."""
        try:
            msg = C.parse_message(data)
        except ValueError:
            return []
        base = self._uptime_base(msg, data)
        out = []
        for s in msg.sets:
            scope = (exporter, msg.domain)
            if s.kind in ("template", "options"):
                for t in C.parse_templates(msg.version, s):
                    self.templates[scope + (t.template_id,)] = t
            elif s.kind == "data" and scope + (s.set_id,) in self.templates:
                template = self.templates[scope + (s.set_id,)]
                for r in C.decode_records(template, s.body):
                    if template.scope_count:
                        self._option(scope, r)
                    else:
                        out.append(self._flow(scope, r, base))
        return [r for r in out if r is not None]

    @staticmethod
    def _uptime_base(msg, data):
        if msg.version != 9:
            return None
        sys_uptime = int.from_bytes(data[4:8], "big")
        return msg.export_time * 1000 - sys_uptime

    def _option(self, scope, r):
        if r.get(C.SAMPLING_INTERVAL):
            self.sampling[scope] = r[C.SAMPLING_INTERVAL]
        elif r.get(C.SAMPLING_PACKET_INTERVAL):
            taken = r[C.SAMPLING_PACKET_INTERVAL]
            self.sampling[scope] = (taken + r.get(C.SAMPLING_PACKET_SPACE, 0)) // taken
        if r.get(SYSTEM_INIT_MS):
            self.init_ms[scope] = r[SYSTEM_INIT_MS]

    def _times(self, scope, r, base):
        if C.FLOW_START_MS in r:
            return r[C.FLOW_START_MS], r.get(C.FLOW_END_MS, r[C.FLOW_START_MS])
        if FLOW_START_SECONDS in r:
            start = r[FLOW_START_SECONDS] * 1000
            return start, r.get(FLOW_END_SECONDS, r[FLOW_START_SECONDS]) * 1000
        origin = self.init_ms.get(scope, base)
        if C.FIRST_SWITCHED in r and origin is not None:
            return origin + r[C.FIRST_SWITCHED], origin + r.get(C.LAST_SWITCHED, 0)
        return None, None

    def _flow(self, scope, r, base):
        src, dst = r.get(C.SRC4) or r.get(C.SRC6), r.get(C.DST4) or r.get(C.DST6)
        if not src or not dst:
            return None
        start, end = self._times(scope, r, base)
        return {
            "exporter": scope[0], "obs_domain": scope[1],
            "src": socket.inet_ntop(socket.AF_INET6 if len(src) == 16 else socket.AF_INET, src),
            "dst": socket.inet_ntop(socket.AF_INET6 if len(dst) == 16 else socket.AF_INET, dst),
            "sport": r.get(C.SPORT, 0), "dport": r.get(C.DPORT, 0), "proto": r.get(C.PROTO, 0),
            "packets": r.get(C.PACKETS, 0), "bytes": r.get(C.OCTETS, 0),
            "start_ms": start, "end_ms": end, "sampling": self.sampling.get(scope, 1),
        }


def _listen_address(conf_path):
    conf = configparser.ConfigParser(inline_comment_prefixes=(";", "#"))
    conf.read(conf_path)
    host, _, port = conf["collector"]["listen"].rpartition(":")
    return host.strip("[]"), int(port)


def main(argv):
    if "-c" not in argv or argv.index("-c") + 1 >= len(argv):
        print("usage: hs_refcollector.py -f -F -c CONF", file=sys.stderr)
        return 2
    host, port = _listen_address(argv[argv.index("-c") + 1])
    running = [True]

    def stop(*_):
        running[0] = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    decoder = Decoder()
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        sock.bind((host, port))
        sock.settimeout(0.1)
        print(f"listening on {host}:{port}", file=sys.stderr, flush=True)
        while running[0]:
            try:
                data, peer = sock.recvfrom(65535)
            except (socket.timeout, InterruptedError):
                continue
            for record in decoder.datagram(data, peer[0]):
                print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
