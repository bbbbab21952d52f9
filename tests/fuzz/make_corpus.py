#!/usr/bin/python3
"""Regenerate the fuzz targets' seed corpora in tests/fuzz/corpus/NAME/.

The datagram seeds are what real exporters send, not what we think they
send: a small generated capture (hs_pcap) is replayed through softflowd
(NetFlow v9, IPFIX, v9 with -s 10) and pmacctd's nfprobe (v9, IPFIX)
towards a plain UDP socket on loopback, which keeps every datagram.  To
those, hand-made hostile datagrams (hs_craft) are added: truncations, lying
lengths, zero-field and zero-length-field templates, withdrawals followed
by data, a template ID reused with another layout.

  datagram/   one datagram a file, behind fuzzutil.h's two control bytes
  datagrams/  sequences (template, then data, ...) in fuzz_datagrams' format
  conf/ sigset/ pdns/ json/ iotwild/   text seeds from conf/ and docs/;
              the iot_wild CSVs are synthetic (same columns and quirks as
              the AGPL release, none of its rows)

Run from anywhere: PYTHONPATH=tests/lib tests/fuzz/make_corpus.py
(needs softflowd and pmacctd; --no-exporters keeps the existing captured
seeds and rewrites the rest).
"""

import argparse
import hashlib
import os
import socket
import struct
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))

import hs_craft as C  # noqa: E402
import hs_exporters  # noqa: E402
import hs_pcap  # noqa: E402
import hs_util  # noqa: E402

CORPUS = os.path.join(HERE, "corpus")
# Seeds per exporter run: the first datagrams hold the templates and options
# records; later ones only repeat the same layouts with other values.
DATAGRAMS_PER_RUN = 6
SEQUENCE_MAX_BYTES = 6000


class Recorder:
    """A loopback UDP socket that keeps every datagram sent to it."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind((hs_util.LOOPBACK4, 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.datagrams = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self):
        while not self._stop.is_set():
            try:
                self.datagrams.append(self.sock.recv(65535))
            except socket.timeout:
                continue

    def close(self):
        hs_util.wait_stable(lambda: len(self.datagrams), 10.0, quiet=0.3)
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()
        return self.datagrams


def control(source=0, clock=0):
    return bytes([source, clock])


def sequence(datagrams, source=0, clock=1):
    """fuzz_datagrams' format: control bytes, 16-bit length, datagram."""
    return b"".join(control(source, clock) + struct.pack("!H", len(d)) + d
                    for d in datagrams)


def write(name, data, label=None):
    """Write one seed, named by its label or its content's hash."""
    d = os.path.join(CORPUS, name)
    os.makedirs(d, exist_ok=True)
    label = label or hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, label), "wb") as f:
        f.write(data)


def clear(name, prefix=""):
    d = os.path.join(CORPUS, name)
    if os.path.isdir(d):
        for f in os.listdir(d):
            if f.startswith(prefix):
                os.unlink(os.path.join(d, f))


def exporter_runs(tmp):
    """(tag, datagrams) for every exporter and version."""
    capture = hs_pcap.generate(os.path.join(tmp, "seed.pcap"), seed=7,
                               conversations=24, period=600)
    runs = [("softflowd-v9", hs_exporters.softflowd, dict(version=9)),
            ("softflowd-v10", hs_exporters.softflowd, dict(version=10)),
            ("softflowd-v9-s10", hs_exporters.softflowd, dict(version=9, sampling=10)),
            ("softflowd-v10-s10", hs_exporters.softflowd, dict(version=10, sampling=10)),
            ("pmacctd-v9", hs_exporters.pmacctd, dict(version=9, engine=3)),
            ("pmacctd-v10", hs_exporters.pmacctd, dict(version=10, engine=3))]
    for tag, export, kwargs in runs:
        rec = Recorder()
        try:
            export(capture.path, rec.port, tmp, **kwargs)
        finally:
            datagrams = rec.close()
        if not datagrams:
            raise hs_util.HarnessError(f"{tag} sent nothing")
        print(f"{tag}: {len(datagrams)} datagrams", file=sys.stderr)
        yield tag, datagrams


def write_captured(tmp):
    clear("datagram", "real-")
    clear("datagrams", "real-")
    for n, (tag, datagrams) in enumerate(exporter_runs(tmp)):
        for i, d in enumerate(datagrams[:DATAGRAMS_PER_RUN]):
            write("datagram", control(n) + d, f"real-{tag}-{i}")
        seq, size = [], 0
        for d in datagrams:
            if size + len(d) > SEQUENCE_MAX_BYTES and seq:
                break
            seq.append(d)
            size += len(d)
        write("datagrams", sequence(seq, source=n), f"real-{tag}")


GOOD = {C.SRC4: "100.64.0.1", C.DST4: "198.18.0.5", C.SPORT: 40000, C.DPORT: 443,
        C.PROTO: 6, C.PACKETS: 3, C.OCTETS: 180,
        C.FLOW_START_MS: 1800000000000, C.FLOW_END_MS: 1800000000500}
GOOD6 = {**GOOD, C.SRC6: "2001:db8:1::7", C.DST6: "2001:db8:ffff::1"}
GOOD_V9 = {**GOOD, C.FIRST_SWITCHED: 1000, C.LAST_SWITCHED: 2000}


# Fixed header times, so that the crafted seeds are the same every run.
EXPORT_TIME = 1800000000


def ipfix(sets, **kw):
    return C.ipfix_message(sets, export_time=EXPORT_TIME, **kw)


def v9(sets, **kw):
    return C.v9_packet(sets, unix_secs=EXPORT_TIME, **kw)


def crafted():
    """(label, [datagrams]) hostile and edge cases, each a short sequence."""
    t4 = C.template_set(10, [(256, C.FLOW4)])
    t6 = C.template_set(10, [(257, C.FLOW6)])
    r4 = C.encode_record(C.FLOW4, GOOD)
    r6 = C.encode_record(C.FLOW6, GOOD6)
    full = ipfix([t4, C.data_set(256, [r4, r4])], domain=1)
    v9t = C.template_set(9, [(256, C.FLOW4_V9)])
    v9r = C.encode_record(C.FLOW4_V9, GOOD_V9)
    v9full = v9([v9t, C.data_set(256, [v9r])], source_id=2, sys_uptime=5000)
    var = [(C.SRC4, 4), (C.DST4, 4), (C.PROTO, 1), (1000, C.VARIABLE, 29305)]
    var_rec = C.encode_record(var, {C.SRC4: "100.64.0.2", C.DST4: "198.18.0.6",
                                    C.PROTO: 17, 1000: b"x" * 300})
    sampling_opts = C.options_template_set(
        10, 300, [(C.METERING_PROCESS_ID, 4)],
        [(C.SAMPLING_PACKET_INTERVAL, 4), (C.SAMPLING_PACKET_SPACE, 4)])
    sampling_rec = C.encode_record([(C.METERING_PROCESS_ID, 4),
                                    (C.SAMPLING_PACKET_INTERVAL, 4),
                                    (C.SAMPLING_PACKET_SPACE, 4)],
                                   {C.METERING_PROCESS_ID: 1,
                                    C.SAMPLING_PACKET_INTERVAL: 1,
                                    C.SAMPLING_PACKET_SPACE: 9})
    v9_opts = C.options_template_set(9, 300, [(1, 4)], [(C.SAMPLING_INTERVAL, 4),
                                                        (C.SAMPLING_ALGORITHM, 1)])
    v9_opts_rec = C.encode_record([(1, 4), (C.SAMPLING_INTERVAL, 4),
                                   (C.SAMPLING_ALGORITHM, 1)],
                                  {1: 0, C.SAMPLING_INTERVAL: 100, C.SAMPLING_ALGORITHM: 1})
    junk8 = C.data_set(256, [b"\x01\x02\x03\x04\x05\x06\x07\x08"])
    return [
        ("ipfix-good", [full]),
        ("ipfix-v6-and-v4", [ipfix([t4, t6, C.data_set(256, [r4]),
                                              C.data_set(257, [r6])])]),
        ("ipfix-variable-length", [ipfix([C.template_set(10, [(258, var)]),
                                                    C.data_set(258, [var_rec])])]),
        ("ipfix-sampling-options", [ipfix([sampling_opts,
                                                     C.data_set(300, [sampling_rec]),
                                                     t4, C.data_set(256, [r4])])]),
        ("ipfix-truncated", [C.truncate(full, 30), C.truncate(full, 10), b""]),
        ("ipfix-length-lies", [ipfix([t4], length=4000), full + b"\0" * 20]),
        ("ipfix-set-length", [ipfix([C.data_set(256, [r4], length=900)]),
                              ipfix([C.data_set(256, [], length=2)])]),
        ("ipfix-zero-field-template", [ipfix([C.template_set(10, [(257, [])]),
                                                        C.data_set(257, [b"\0" * 64])])]),
        ("ipfix-zero-length-field", [ipfix([
            C.template_set(10, [(258, [(C.SRC4, 0), (C.DST4, 4)])]),
            C.data_set(258, [b"\0" * 8])])]),
        ("ipfix-withdrawal-then-data", [ipfix([t4]), ipfix(
            [C.withdrawal_set([256]), C.data_set(256, [r4])])]),
        ("ipfix-template-reused", [full, ipfix([C.template_set(10, [(256, C.FLOW6)]),
                                                          C.data_set(256, [r6])])]),
        ("ipfix-data-before-template", [ipfix([C.data_set(256, [r4]), t4])]),
        ("v9-good", [v9full]),
        ("v9-sampling-options", [v9([v9_opts, C.data_set(300, [v9_opts_rec]),
                                              v9t, C.data_set(256, [v9r])])]),
        ("v9-truncated", [C.truncate(v9full, 12), C.truncate(v9full, 30)]),
        ("v9-count-lies", [v9([v9t, C.data_set(256, [v9r])], count=99)]),
        ("v9-zero-fields", [v9([C.template_set(9, [(256, [])]), junk8])]),
        ("v9-zero-length-field", [v9([C.template_set(9, [(256, [(C.SRC4, 0)])]),
                                               junk8])]),
        ("v9-template-then-data", [v9([v9t]), v9([C.data_set(256, [v9r])])]),
        ("netflow-v5", [b"\x00\x05" + b"\x00" * 70]),
    ]


def write_crafted():
    clear("datagram", "craft-")
    clear("datagrams", "craft-")
    for label, datagrams in crafted():
        for i, d in enumerate(datagrams):
            write("datagram", control(i) + d, f"craft-{label}-{i}")
        write("datagrams", sequence(datagrams), f"craft-{label}")
        # the same again after the template timeout, expiring in between
        write("datagrams", sequence(datagrams[:1]) + control(0, 0xc0 | 0x3f)
              + struct.pack("!H", 0) + sequence(datagrams), f"craft-{label}-expired")


def read(path):
    with open(os.path.join(SRC, path), "rb") as f:
        return f.read()


def doc_json_blocks(path):
    text = read(path).decode()
    blocks, inside = [], None
    for line in text.splitlines(keepends=True):
        if inside is None and line.startswith("```json"):
            inside = []
        elif inside is not None and line.startswith("```"):
            blocks.append("".join(inside).encode())
            inside = None
        elif inside is not None:
            inside.append(line)
    return blocks


CONF_VARIANTS = [
    b"[collector]\nlisten = 127.0.0.1:2055, [::1]:4739\nexporters = 10.0.0.0/8, 2001:db8::/32\n"
    b"sampling_override = 10.1.2.3 = 100\nsampling_override = 10.1.2.3 domain 7 = 1000\n"
    b"template_timeout = 30m\nrcvbuf = 8M\n",
    b"[detect]\nwindow = 1h\nmin_domains = 2\nmin_fraction = 0.5\nipv6_prefix_len = 56\n"
    b"subscriber_prefixes = 100.64.0.0/10\n[redis]\nurl = redis://127.0.0.1:6379/0\n"
    b"channel = haystack\nstream = hs\n",
    b"; comment\n# comment\n[output]\nstdout = yes\n[log]\nlevel = debug\n"
    b"[metrics]\nlisten = 127.0.0.1:9100\n[state]\nfile = /tmp/x\n",
]

CSV_ROWS = [
    b"domain,detection_level,device,grouped_domain,domain_id,port\n"
    b"api.example-iot.com.,cam_cat,cam1,api.example-iot.com.,0,443\n"
    b"*.push.example-iot.com.,cam_cat,cam1,*.push.example-iot.com.,1,8883.0\n"
    b"time.example-iot.net,cam1,cam1,new_domain_1,2,123\n",
    b"\xef\xbb\xbfdomain,port,detection_level\r\n"
    b"\"a.example.org.\",443,\"lvl,x\"\r\n\"b.\"\"q\"\".example.org\",5683.0,plug\r\n",
    b"port,domain,detection_level,extra\nabc,x.example,lvl,1\n0,y.example,lvl,2\n"
    b"70000,z.example,lvl,3\n443,,lvl,4\n443,bad..name,lvl,5\n",
]

JSON_EXTRA = [b"[]", b"{}", b"[1,-0.5e10,true,false,null,\"\\u00e9\\ud83d\\ude00\\n\"]",
              b"{\"a\":{\"b\":[{\"c\":1}]},\"d\":\"\\u0000\"}", b"\"\xc3\xa9\"",
              b"[" * 300 + b"]" * 300]


def write_text():
    for name in ("conf", "sigset", "pdns", "json", "iotwild"):
        clear(name)
    write("conf", read("conf/haystackd.conf"), "haystackd.conf")
    for i, v in enumerate(CONF_VARIANTS):
        write("conf", v, f"variant-{i}")
    sig = read("conf/signatures.json")
    write("sigset", sig, "signatures.json")
    write("json", sig, "signatures.json")
    for i, block in enumerate(doc_json_blocks("docs/signatures.md")):
        write("sigset", block, f"docs-{i}")
        write("json", block, f"docs-{i}")
    lines = read("conf/pdns-example.jsonl").splitlines(keepends=True)
    write("pdns", b"".join(lines[:8]), "pdns-head")
    for i, line in enumerate(lines[:24]):
        write("pdns", line, f"line-{i}")
        write("json", line.strip(), f"pdns-{i}")
    write("pdns", b"{\"rrname\":\"x.example.\",\"rrtype\":\"AAAA\",\"rdata\":\"2001:db8::1\"}\n"
          b"not json\n{\"rrname\":\"y\",\"rrtype\":\"MX\",\"rdata\":[\"m.example.\"]}\r\n",
          "mixed")
    for i, v in enumerate(JSON_EXTRA):
        write("json", v, f"extra-{i}")
    for i, v in enumerate(CSV_ROWS):
        write("iotwild", v, f"synthetic-{i}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-exporters", action="store_true",
                    help="keep the captured datagram seeds, rewrite the rest")
    args = ap.parse_args()
    if not args.no_exporters:
        missing = hs_util.require_programs("softflowd", "pmacctd")
        if missing:
            sys.exit(f"missing {', '.join(missing)} (or use --no-exporters)")
        with hs_util.temp_dir("hs-corpus-") as tmp:
            write_captured(tmp)
    write_crafted()
    write_text()
    total = sum(os.path.getsize(os.path.join(dp, f))
                for dp, _, fs in os.walk(CORPUS) for f in fs)
    print(f"corpus: {total} bytes in {CORPUS}", file=sys.stderr)


if __name__ == "__main__":
    main()
