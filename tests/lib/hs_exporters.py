"""Real flow exporters replaying a pcap towards a loopback collector.

softflowd and pmacctd (nfprobe plugin) are Debian's, written by nobody here,
so they check the collector against what the field sends rather than against
our own reading of RFC 7011 / RFC 3954.  Flags and quirks are recorded in
shared/notes/exporters.md; those that shape this module:

- softflowd `-r` reads the capture, exports every flow and exits by itself.
  `-c` (control socket) after `-r` blocks forever in accept(), so it is never
  passed; a private pid file keeps parallel runs apart; each run has a hard
  timeout anyway.
- pmacctd with `pcap_savefile_wait: true` does not exit after the capture:
  once its log says it read the whole file it is stopped with SIGINT, on
  which nfprobe exports every flow it still holds.  It sleeps 2 s before
  reading and about as long when stopping, so a run takes ~6 s.  It
  double-counts the capture's last packets; see PMACCTD_BUFFER_SIZE.

Both only ever send to 127.0.0.1 or ::1.
"""

import dataclasses
import os
import signal
import time

import hs_pcap
import hs_util

LOOPBACK_TARGETS = (hs_util.LOOPBACK4, hs_util.LOOPBACK6)


@dataclasses.dataclass
class ExportRun:
    """What one exporter run did: its command, exit code, time and output."""

    exporter: str
    argv: list
    returncode: int
    seconds: float
    stdout: str
    stderr: str


def _target(host, port):
    if host not in LOOPBACK_TARGETS:
        raise hs_util.HarnessError(f"exporters only send to loopback, not {host}")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _read(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def softflowd(pcap, port, workdir, version=9, sampling=None, host=hs_util.LOOPBACK4,
              timeout=30.0, extra=()):
    """Replay `pcap` through softflowd as NetFlow v9 (9) or IPFIX (10).

    `sampling` N adds `-s N` (1-in-N periodic sampling, announced in an
    options record).  Returns an ExportRun; raises if it fails or hangs.
    """
    tag = f"softflowd-v{version}" + (f"-s{sampling}" if sampling else "")
    argv = ["softflowd", "-r", pcap, "-n", _target(host, port), "-v", str(version), "-d",
            "-p", os.path.join(workdir, f"{tag}.pid")]
    if sampling:
        argv += ["-s", str(sampling)]
    argv += list(extra)
    started = time.monotonic()
    with hs_util.Process(argv, workdir, name=tag) as p:
        rc = p.wait(timeout)
        run = ExportRun(tag, p.argv, rc, time.monotonic() - started,
                        _read(p.stdout_path), p.stderr_text())
    if rc != 0:
        raise hs_util.HarnessError(f"{tag} exited {rc}\n{run.stderr[-2000:]}")
    return run


PMACCTD_CONF = """\
! written by the test harness (hs_exporters.pmacctd)
daemonize: false
pidfile: {pidfile}
logfile: {logfile}
pcap_savefile: {pcap}
pcap_savefile_wait: true
plugin_buffer_size: {buffer_size}
plugins: nfprobe[np]
nfprobe_receiver[np]: {target}
nfprobe_version[np]: {version}
nfprobe_engine[np]: {engine}
aggregate[np]: src_host,dst_host,src_port,dst_port,proto,tos
nfprobe_timeouts[np]: tcp=30:udp=30:maxlife=120:expint=1
{sampling}"""

# Idle timeouts far above any gap inside a generated conversation, so that a
# slow read on a loaded machine never splits a flow; SIGINT flushes the rest.
#
# pmacctd 1.7.7 hands its last packet buffer to the plugin twice when a
# savefile ends, double-counting the capture's final packets.  A small buffer
# (a few packets) plus a trailer flow longer than it keeps the duplicates in
# the trailer, which comparisons leave out (hs_pcap.TRAILER_KEY).
PMACCTD_BUFFER_SIZE = 1024
PMACCTD_TRAILER_PACKETS = 32
PMACCTD_FINISHED = "finished reading PCAP capture file"


def pmacctd(pcap, port, workdir, version=9, sampling=None, host=hs_util.LOOPBACK4,
            timeout=30.0, engine=0, settle=0.5):
    """Replay `pcap` through pmacctd's nfprobe plugin as NetFlow v9 or IPFIX.

    Waits until pmacctd logs that it read the whole capture, gives the plugin
    `settle` seconds to take the last packets, then stops it with SIGINT, on
    which nfprobe exports every flow still cached.  `engine` is the exported
    source id / observation domain.  `sampling` N sets `sampling_rate: N`:
    pmacctd then keeps packets at random, about 1 in N, and nfprobe
    announces nothing (an exporter for the collector's `sampling_rate`).
    The replayed capture carries hs_pcap's trailer flow (see above).
    """
    tag = f"pmacctd-v{version}" + (f"-s{sampling}" if sampling else "")
    conf = os.path.join(workdir, f"{tag}.conf")
    logfile = os.path.join(workdir, f"{tag}.log")
    replay = os.path.join(workdir, f"{tag}.pcap")
    hs_pcap.with_trailer(pcap, replay, PMACCTD_TRAILER_PACKETS)
    with open(conf, "w") as f:
        f.write(PMACCTD_CONF.format(
            pidfile=os.path.join(workdir, f"{tag}.pid"), logfile=logfile, pcap=replay,
            buffer_size=PMACCTD_BUFFER_SIZE, target=_target(host, port), version=version,
            engine=engine, sampling=f"sampling_rate: {sampling}\n" if sampling else ""))

    def log():
        return _read(logfile) if os.path.exists(logfile) else ""

    started = time.monotonic()
    with hs_util.Process(["pmacctd", "-f", conf], workdir, name=tag) as p:
        hs_util.wait_for(lambda: PMACCTD_FINISHED in log() or not p.running(), timeout,
                         what=f"{tag} to read {pcap}")
        if not p.running():
            raise hs_util.HarnessError(f"{tag} exited early ({p.proc.returncode})\n"
                                       f"{log()[-2000:] or p.tail()}")
        time.sleep(settle)
        rc = p.stop(signal.SIGINT, timeout=timeout)
        run = ExportRun(tag, p.argv, rc, time.monotonic() - started,
                        _read(p.stdout_path), log())
    if rc not in (0, -signal.SIGINT):
        raise hs_util.HarnessError(f"{tag} exited {rc}\n{run.stderr[-2000:]}")
    return run
