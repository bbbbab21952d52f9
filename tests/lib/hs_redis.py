"""A real redis-server, a redis-cli subscriber and the publisher test driver,
for the integration tests of haystackd's Redis publisher (publisher_*.py).

Everything runs on 127.0.0.1, on ports the kernel picks, in the test's
temporary directory; every wait has a deadline and every child is killed
when its context ends (hs_util.Process).  The server can be killed,
restarted on the same port, paused and resumed, which is how the tests make
Redis unreachable, restarted or slow.
"""

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import hs_util


class RedisServer:
    """redis-server on a loopback port, no persistence, its own directory."""

    def __init__(self, workdir, name="redis", port=None, args=(), password=None,
                 host=hs_util.LOOPBACK4):
        self.host = host
        self.port = port or hs_util.free_port("tcp", host)
        self.name = name
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.args = list(args)
        self.password = password
        self.proc = None
        self.generation = 0
        self.start()

    def start(self):
        """Start (again, after kill) on the same port; wait until it answers."""
        self.generation += 1
        argv = ["redis-server", "--port", self.port, "--bind", self.host,
                "--save", "", "--appendonly", "no", "--dir", self.dir,
                "--daemonize", "no", *self.args]
        if self.password:
            argv += ["--requirepass", self.password]
        self.proc = hs_util.Process(argv, self.dir, name=f"{self.name}-{self.generation}")
        hs_util.wait_for(lambda: self._pong(), 10, what=f"{self.name} to answer PING")

    def _pong(self):
        if not self.proc.running():
            raise hs_util.HarnessError(f"{self.name} exited:\n{self.proc.tail()}")
        try:
            return self.cli("PING") == "PONG"
        except hs_util.HarnessError:
            return False

    def cli(self, *args, db=0, user=None, password=None):
        """One redis-cli command; returns its raw output without the last newline."""
        argv = ["redis-cli", "-h", self.host, "-p", str(self.port), "-n", str(db)]
        password = password or self.password
        if user:
            argv += ["--user", user]
        if password:
            argv += ["-a", password, "--no-auth-warning"]
        argv += [str(a) for a in args]
        try:
            out = subprocess.run(argv, capture_output=True, timeout=10, check=True)
        except (subprocess.SubprocessError, OSError) as e:
            raise hs_util.HarnessError(f"redis-cli {' '.join(map(str, args))}: {e}") from None
        return out.stdout.decode().rstrip("\n")

    def xrange_events(self, key, db=0):
        """The stream's entries as [(id, {field: value})], oldest first."""
        lines = self.cli("XRANGE", key, "-", "+", db=db).split("\n")
        entries = []
        i = 0
        while i + 2 < len(lines) and lines[i]:
            entry_id, field, value = lines[i], lines[i + 1], lines[i + 2]
            entries.append((entry_id, {field: value}))
            i += 3
        return entries

    def stream_seqs(self, key, db=0):
        """The "seq" of each event in the stream, oldest first."""
        return [json.loads(f["event"])["seq"] for _, f in self.xrange_events(key, db)]

    def hgetall(self, key, db=0):
        lines = self.cli("HGETALL", key, db=db).split("\n")
        if lines == [""]:
            return {}
        return dict(zip(lines[0::2], lines[1::2]))

    def kill(self):
        """SIGKILL: what a crash or an OOM kill does; the data is gone."""
        self.proc.kill()
        self.proc.close()

    def pause(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def close(self):
        if self.proc:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Subscriber:
    """`redis-cli SUBSCRIBE channel` in a subprocess: what an operator runs."""

    def __init__(self, server, channel, log_dir, name="subscriber"):
        argv = ["redis-cli", "-h", server.host, "-p", str(server.port)]
        if server.password:
            argv += ["-a", server.password, "--no-auth-warning"]
        self.proc = hs_util.Process(argv + ["SUBSCRIBE", channel], log_dir,
                                    name=name, capture_stdout=True)
        hs_util.wait_for(lambda: len(self.proc.stdout_lines()) >= 3, 10,
                         what="redis-cli to subscribe")

    def messages(self):
        """Payloads received so far, in order."""
        lines = self.proc.stdout_lines()[3:]
        return [lines[i + 2] for i in range(0, len(lines) - 2, 3)
                if lines[i] == "message"]

    def seqs(self):
        return [json.loads(m)["seq"] for m in self.messages()]

    def close(self):
        self.proc.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def write_conf(path, port, url_auth="", db=0, extra="", host=hs_util.LOOPBACK4):
    """A haystackd.conf with only a [redis] section (the rest defaults)."""
    if ":" in host:
        host = f"[{host}]"
    with open(path, "w") as f:
        f.write(f"[redis]\nurl = redis://{url_auth}{host}:{port}/{db}\n{extra}")
    return path


class Driver:
    """tests/integration/publisher_driver.c: the publisher on its own loop,
    one command a line on stdin, one answer a line on stdout."""

    def __init__(self, conf, log_dir, name="driver"):
        exe = os.path.join(hs_util.env_path("HS_BIN_DIR"), "tests", "publisher_driver")
        self.stderr_path = os.path.join(log_dir, f"{name}.stderr")
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([exe, conf], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._stderr,
                                     start_new_session=True)
        self._lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self._lines.put(line.decode().rstrip("\n"))
        self._lines.put(None)

    def cmd(self, line, timeout=10):
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()
        return self.answer(timeout)

    def answer(self, timeout=10):
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise hs_util.HarnessError(f"driver: no answer in {timeout}s\n{self.log()}") from None
        if line is None:
            raise hs_util.HarnessError(f"driver exited\n{self.log()}")
        return line

    def publish(self, n, kind="detected", subscriber="198.51.100.7", signature="sig", pad=0):
        """Publishes n events (with a "pad" field of pad bytes); returns their
        seq numbers (first, last)."""
        ok, first, last = self.cmd(f"publish {n} {kind} {subscriber} {signature} {pad}").split()
        assert ok == "ok"
        return int(first), int(last)

    def stats(self):
        return json.loads(self.cmd("stats"))

    def wait_stats(self, cond, timeout, what):
        """Polls stats until cond(stats) holds; returns them."""
        return hs_util.wait_for(lambda: (lambda s: cond(s) and s)(self.stats()),
                                timeout, what=what)

    def close(self, timeout=10):
        """Closes the publisher (it flushes), returns the driver's exit code
        (not 0 on a leak: the driver is built with ASan)."""
        answer = self.cmd("close", timeout)
        if answer != "closed":
            raise hs_util.HarnessError(f"driver: close answered {answer!r}")
        self.proc.stdin.close()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise hs_util.HarnessError(f"driver did not exit\n{self.log()}") from None

    def log(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def kill(self):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        self._stderr.close()


def expect(actual, expected, what):
    if actual != expected:
        raise AssertionError(f"{what}: got {actual!r}, expected {expected!r}")


def run_tests(tests, argv):
    """Runs the named tests (all without arguments), each in its own
    temporary directory; prints PASS/FAIL lines, returns the exit code
    (77, ctest's skip, without redis-server)."""
    missing = hs_util.require_programs("redis-server", "redis-cli")
    if missing:
        print(f"SKIP: not installed: {', '.join(missing)}")
        return 77
    failed = 0
    for name, fn in tests.items():
        if argv[1:] and name not in argv[1:]:
            continue
        started = time.monotonic()
        with hs_util.temp_dir() as tmp:
            try:
                fn(tmp)
                print(f"PASS {name} ({time.monotonic() - started:.1f}s)")
            except Exception as e:  # a failing case must not stop the others
                failed += 1
                print(f"FAIL {name}: {type(e).__name__}: {e}")
            sys.stdout.flush()
    return 1 if failed else 0
