"""Flow collectors the harness can feed, each behind the same small interface.

Every collector listens on a loopback UDP port it is given, and after the
exporters are done hands back the decoded flow records as dicts in the
haystackd `-F` format, one per record:

    {"exporter": "127.0.0.1", "obs_domain": 0, "src": "10.0.0.1",
     "dst": "198.18.0.5", "sport": 40000, "dport": 443, "proto": 6,
     "packets": 3, "bytes": 180, "start_ms": 1700000000000,
     "end_ms": 1700000001000, "sampling": 1}

`packets` and `bytes` are the counters as exported (not renormalised);
`sampling` is the packet sampling interval the exporter announced (1: none;
None: this collector does not report it).

NfcapdCollector runs nfdump's nfcapd, a collector nobody here wrote, so the
harness itself can be proven right before haystackd exists;
HaystackdCollector runs the project's daemon.  Usage:

    with NfcapdCollector(workdir) as c:
        ... run exporters towards ("127.0.0.1", c.port) ...
        records = c.records(expect=len(capture.expected), timeout=10)
"""

import contextlib
import datetime
import ipaddress
import json
import os
import re
import signal
import time

import hs_util

NFDUMP_ENV = dict(os.environ, TZ="UTC")  # nfdump prints times in local time


class Collector:
    """Shared life cycle: start on a free port, collect, always stop."""

    name = "collector"

    def __init__(self, workdir, host=hs_util.LOOPBACK4, port=None):
        self.workdir = workdir
        self.host = host
        self.port = port or hs_util.free_port("udp", host)
        self.process = None

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()  # a half-started daemon must not outlive the test
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.process is not None:
            self.process.close()

    def start(self):
        """Start listening on (host, port); raise HarnessError on failure."""
        raise NotImplementedError

    def records(self, expect=None, timeout=10.0):
        """Stop collecting and return the decoded records as dicts.

        `expect`, when known, is how many records to wait for (at most
        `timeout` seconds) before stopping.
        """
        raise NotImplementedError


def _nfdump_time_ms(text):
    # nfdump prints local time ("2023-11-14T22:13:26.293"); TZ=UTC makes it UTC.
    dt = datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.timezone.utc)
    return round(dt.timestamp() * 1000)


class NfcapdCollector(Collector):
    """nfdump's nfcapd writing one file; records are read back with nfdump.

    nfcapd only completes its file when it exits, so `records()` lets the
    socket drain for `settle` seconds, stops nfcapd with SIGINT and dumps the
    file.  nfcapd 1.7.1 takes no sampling interval from softflowd's options
    records (v9 or IPFIX), so `sampling` is None: not reported.
    """

    name = "nfcapd"

    def __init__(self, workdir, host=hs_util.LOOPBACK4, port=None, settle=0.5):
        super().__init__(workdir, host, port)
        self.settle = settle
        self.flowdir = os.path.join(workdir, "nfcapd")

    def start(self):
        os.makedirs(self.flowdir, exist_ok=True)
        argv = ["nfcapd", "-b", self.host, "-p", self.port, "-w", self.flowdir,
                "-t", "3600", "-B", "8388608"]
        if ":" in self.host:
            argv.append("-6")
        self.process = hs_util.Process(argv, self.workdir, name="nfcapd")
        hs_util.wait_for(lambda: hs_util.udp_port_bound(self.port, self.host)
                         or not self.process.running(), 5, what="nfcapd listening")
        if not self.process.running():
            raise hs_util.HarnessError(f"nfcapd failed to start\n{self.process.tail()}")
        return self

    def records(self, expect=None, timeout=10.0):
        time.sleep(self.settle)
        rc = self.process.stop(signal.SIGINT, timeout=timeout)
        if rc != 0:
            raise hs_util.HarnessError(f"nfcapd exited {rc}\n{self.process.tail()}")
        files = sorted(f for f in os.listdir(self.flowdir) if f.startswith("nfcapd.2"))
        records = []
        for f in files:
            path = os.path.join(self.flowdir, f)
            exporters = self._exporters(path)
            out = hs_util.run(["nfdump", "-r", path, "-o", "json", "-N"], timeout,
                              self.workdir, name="nfdump", env=NFDUMP_ENV)
            records.extend(self._convert(r, exporters) for r in json.loads(out or "[]")
                           if r.get("type") == "FLOW")
        return records

    def _exporters(self, path):
        """Map nfdump's exporter SysID to (address, observation domain)."""
        out = hs_util.run(["nfdump", "-r", path, "-E", path], 10, self.workdir,
                          name="nfdump-E")
        exporters = {}
        for line in out.splitlines():
            m = re.match(r"\s*SysID: (\d+), IP:\s*(\S+), version: \d+, ID:\s*(\d+)", line)
            if m:
                exporters[int(m.group(1))] = (m.group(2), int(m.group(3)))
        return exporters

    @staticmethod
    def _convert(r, exporters):
        exporter, domain = exporters.get(r["export_sysid"], (None, None))
        src = r.get("src4_addr") or r.get("src6_addr")
        dst = r.get("dst4_addr") or r.get("dst6_addr")
        return {
            "exporter": exporter or r.get("ip4_router") or r.get("ip6_router"),
            "obs_domain": domain,
            "src": str(ipaddress.ip_address(src)),
            "dst": str(ipaddress.ip_address(dst)),
            "sport": int(r["src_port"]),
            "dport": int(r["dst_port"]),
            "proto": int(r["proto"]),
            "packets": int(r["in_packets"]),
            "bytes": int(r["in_bytes"]),
            "start_ms": _nfdump_time_ms(r["first"]),
            "end_ms": _nfdump_time_ms(r["last"]),
            "sampling": None,
        }


HAYSTACKD_CONF = """\
; written by the test harness (hs_collectors.HaystackdCollector)
[collector]
listen = {listen}
sampling_rate = 1

[signatures]
file = {signatures}
{extra}"""


class HaystackdCollector(Collector):
    """The project's daemon started as `haystackd -f -F -c CONF`.

    With -F it prints each decoded flow record as a JSON line on stdout;
    stdout is a file here, not a terminal, so the daemon must flush each line
    (or make stdout line-buffered) for records to arrive while it runs.
    `records()` waits until `expect` lines arrived (or until the count is
    stable for `quiet` seconds when `expect` is None), then stops it with
    SIGTERM, which must exit 0, and returns every line starting with "{".
    `signatures` defaults to the shipped conf/signatures.json; `extra` is
    appended to the config as is.
    `command` replaces `$HS_BIN_DIR/daemon/haystackd`.
    """

    name = "haystackd"

    def __init__(self, workdir, host=hs_util.LOOPBACK4, port=None, signatures=None,
                 extra="", quiet=1.0, command=None):
        super().__init__(workdir, host, port)
        self.command = list(command or [os.path.join(hs_util.env_path("HS_BIN_DIR"),
                                                     "daemon", "haystackd")])
        self.signatures = signatures or os.path.join(
            hs_util.env_path("HS_SRC_DIR"), "conf", "signatures.json")
        self.extra = extra
        self.quiet = quiet
        self.conf = os.path.join(workdir, "haystackd.conf")
        self.exit_code = None

    def start(self):
        listen = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        with open(self.conf, "w") as f:
            extra = self.extra
            if "[metrics]" not in extra:  # no fixed port: tests run in parallel
                extra += "\n[metrics]\nlisten =\n"
            if "[redis]" not in extra:
                extra += "\n[redis]\nurl =\n"
            if "[state]" not in extra:  # not the shared default path
                extra += "\n[state]\nfile =\n"
            f.write(HAYSTACKD_CONF.format(listen=listen, signatures=self.signatures,
                                          extra=extra))
        self.process = hs_util.Process(self.command + ["-f", "-F", "-c", self.conf],
                                       self.workdir, name=self.name, capture_stdout=True)
        hs_util.wait_for(lambda: hs_util.udp_port_bound(self.port, self.host)
                         or not self.process.running(), 10, what=f"{self.name} listening")
        if not self.process.running():
            raise hs_util.HarnessError(f"{self.name} failed to start\n{self.process.tail()}")
        return self

    def _flow_lines(self):
        return [line for line in self.process.stdout_lines() if line.startswith("{")]

    def records(self, expect=None, timeout=10.0):
        # A timeout is not an error here: the comparison names what is missing.
        with contextlib.suppress(hs_util.HarnessError):
            if expect is None:
                hs_util.wait_stable(lambda: len(self._flow_lines()), timeout, quiet=self.quiet)
            else:
                hs_util.wait_for(lambda: len(self._flow_lines()) >= expect
                                 or not self.process.running(), timeout,
                                 what=f"{expect} records from {self.name}")
        self.exit_code = self.process.stop(signal.SIGTERM, timeout=timeout)
        if self.exit_code != 0:
            raise hs_util.HarnessError(f"{self.name} exited {self.exit_code}\n"
                                       f"{self.process.tail()}")
        records = []
        for line in self._flow_lines():
            try:
                records.append(json.loads(line))
            except ValueError:
                raise hs_util.HarnessError(f"{self.name} printed a bad record: {line}") from None
        return records
