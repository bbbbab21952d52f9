"""Process, port and deadline helpers shared by the integration harness.

Integration tests start real programs (exporters, collectors, redis-server)
that nobody here wrote, so every wait is bounded by a deadline and every
child is killed when the test ends, whatever happened: a hung exporter must
fail a test, never hang ctest.  Children run in their own process group so
that stopping one never touches anything the test did not start.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

LOOPBACK4 = "127.0.0.1"
LOOPBACK6 = "::1"


def report(failures):
    """Prints each failure and the verdict; returns the exit code."""
    for f in failures:
        print("FAIL", f)
    print("PASS" if not failures else "FAIL")
    return 1 if failures else 0


class HarnessError(Exception):
    """A harness step failed: a program did not start, exit or answer in time."""


def free_port(kind="udp", host=LOOPBACK4):
    """Return a loopback port that is free for `kind` ("udp" or "tcp").

    The kernel picks it (bind to port 0), so parallel tests do not collide;
    the small window before the real owner binds it is accepted.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    stype = socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM
    with socket.socket(family, stype) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def temp_dir(prefix="hs-test-"):
    """A private directory removed on exit unless HS_KEEP_TMP is set."""
    path = tempfile.mkdtemp(prefix=prefix)
    try:
        yield path
    finally:
        if os.environ.get("HS_KEEP_TMP"):
            print(f"# kept {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def wait_for(condition, timeout, interval=0.05, what="condition"):
    """Poll `condition()` until it returns a truthy value or `timeout` passes.

    Returns that value; raises HarnessError naming `what` on timeout.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise HarnessError(f"timed out after {timeout:.1f}s waiting for {what}")
        time.sleep(interval)


def wait_stable(measure, timeout, quiet=0.5, interval=0.05):
    """Wait until `measure()` stops changing for `quiet` seconds.

    Used where a program gives no completion signal (a collector writing
    records): returns the last value, or raises on timeout while it still moves.
    """
    deadline = time.monotonic() + timeout
    last = measure()
    changed = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(interval)
        value = measure()
        if value != last:
            last, changed = value, time.monotonic()
        elif time.monotonic() - changed >= quiet:
            return value
    raise HarnessError(f"value still changing after {timeout:.1f}s (last {last!r})")


class Process:
    """A child program with a log file, its own process group and a hard stop.

    Output goes to files in `log_dir` (a pipe nobody reads can block a child),
    or to a pipe when `capture_stdout` is set, for collectors that print
    records on stdout; `stdout_lines()` then returns what arrived so far.
    """

    def __init__(self, argv, log_dir, name=None, capture_stdout=False, env=None):
        self.argv = [str(a) for a in argv]
        self.name = name or os.path.basename(self.argv[0])
        self.stderr_path = os.path.join(log_dir, f"{self.name}.stderr")
        self.stdout_path = os.path.join(log_dir, f"{self.name}.stdout")
        self._stderr = open(self.stderr_path, "wb")
        self._stdout = open(self.stdout_path, "wb")
        self._stdout_reader = None
        try:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                         stdout=self._stdout, stderr=self._stderr,
                                         start_new_session=True, env=env)
        except OSError as e:
            self._stdout.close()
            self._stderr.close()
            raise HarnessError(f"cannot start {self.argv[0]}: {e}") from None
        if capture_stdout:
            self._stdout_reader = open(self.stdout_path, "rb")
        self._partial = b""
        self._lines = []

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc.poll() is None

    def stdout_lines(self):
        """Complete lines the child wrote to stdout so far (decoded, no newline)."""
        if self._stdout_reader is None:
            raise HarnessError(f"{self.name}: stdout not captured")
        chunk = self._stdout_reader.read()
        if chunk:
            data = self._partial + chunk
            *complete, self._partial = data.split(b"\n")
            self._lines.extend(line.decode("utf-8", "replace") for line in complete)
        return self._lines

    def stderr_text(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait(self, timeout):
        """Wait for a voluntary exit; returns the exit code or raises on timeout."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise HarnessError(
                f"{self.name} did not exit within {timeout:.1f}s: "
                f"{' '.join(self.argv)}\n{self.tail()}"
            ) from None

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        """Send `sig` to the child, wait up to `timeout`, then SIGKILL its group.

        Returns the exit code (negative for a signal, as subprocess reports it).
        """
        if self.running():
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)
            try:
                return self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode

    def kill(self):
        """SIGKILL the child's whole process group (only what we started)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)

    def tail(self, lines=20):
        text = self.stderr_text().splitlines()[-lines:]
        return "\n".join(f"  {self.name}: {line}" for line in text)

    def close(self):
        self.kill()
        for f in (self._stdout, self._stderr, self._stdout_reader):
            if f is not None:
                f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def run(argv, timeout, log_dir, name=None, env=None):
    """Run a program to completion with a hard timeout; raise on non-zero exit.

    Returns its standard output.
    """
    with Process(argv, log_dir, name=name, env=env) as p:
        rc = p.wait(timeout)
        if rc != 0:
            raise HarnessError(f"{p.name} exited {rc}: {' '.join(p.argv)}\n{p.tail()}")
        with open(p.stdout_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


def require_programs(*names):
    """Return the list of programs among `names` that are not installed."""
    return [n for n in names if shutil.which(n) is None]


def env_path(var, default=None):
    """An environment variable naming a path, or `default`; raises when unset."""
    value = os.environ.get(var, default)
    if value is None:
        raise HarnessError(f"environment variable {var} is not set")
    return value


def udp_port_bound(port, host=LOOPBACK4):
    """True when some socket is bound to UDP `port` (read from /proc/net)."""
    table = "/proc/net/udp6" if ":" in host else "/proc/net/udp"
    suffix = f":{port:04X}"
    with open(table) as f:
        next(f)
        return any(line.split()[1].endswith(suffix) for line in f)


class UdpTap:
    """A loopback UDP relay that keeps a copy of every datagram it forwards.

    Put between an exporter and a collector to see what was really sent (for
    example the options records announcing sampling), without a packet
    capture.  It listens on `port` (a free one by default) and forwards to
    `target_port` on the same loopback address; `datagrams` holds the
    payloads in arrival order.  The relay thread stops on close().
    """

    def __init__(self, target_port, host=LOOPBACK4, port=None):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.target = (host, target_port)
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind((host, port or 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.datagrams = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._relay, daemon=True)
        self._thread.start()

    def _relay(self):
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65535)
            except socket.timeout:
                continue
            self.datagrams.append(data)
            self.sock.sendto(data, self.target)

    def drain(self, quiet=0.2, timeout=5.0):
        """Wait until no datagram arrived for `quiet` seconds; return the count."""
        return wait_stable(lambda: len(self.datagrams), timeout, quiet=quiet)

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
