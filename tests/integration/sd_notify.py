#!/usr/bin/python3
"""haystackd speaks systemd's notification protocol (Type=notify, daemon/
sdnotify.c): this test plays systemd's part with a unix datagram socket
named by NOTIFY_SOCKET and checks, each within a bounded time:

- READY=1 (with a STATUS naming the bound socket) once it listens;
- WATCHDOG=1 repeatedly, every half WATCHDOG_USEC;
- SIGHUP: RELOADING=1 (with MONOTONIC_USEC) then READY=1; a reload of a
  broken configuration: RELOADING=1 then READY=1 with "reload refused";
- SIGTERM: STOPPING=1, then exit status 0;
- an abstract socket ("@name") works the same, and WATCHDOG_PID naming
  another process turns the pings off;
- a NOTIFY_SOCKET that cannot be used and a WATCHDOG_USEC that is not a
  number cost a warning per notification, nothing else.
"""

import os
import signal
import socket
import sys
import time

import hs_util

WATCHDOG_USEC = 1000000  # systemd's WatchdogSec=1

CONF = """\
; written by sd_notify.py
[collector]
listen = {listen}

[signatures]
file = {signatures}

[redis]
url =

[state]
file =

[metrics]
listen =
"""


class Manager:
    """The service manager's end: a datagram socket collecting messages,
    each parsed into a dict of its KEY=VALUE lines."""

    def __init__(self, address):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.env_name = address if isinstance(address, str) else "@" + address[1:].decode()
        self.messages = []

    def _receive(self, deadline):
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return None
        fields = dict(line.split("=", 1) for line in data.decode().split("\n") if line)
        self.messages.append(fields)
        return fields

    def expect(self, key, timeout, skip_watchdog=True):
        """The next message with key=1 (watchdog pings in between are
        skipped); any other message first is an error."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self._receive(deadline)
            if m is None:
                break
            if skip_watchdog and list(m) == ["WATCHDOG"]:
                continue
            if m.get(key) != "1":
                raise hs_util.HarnessError(f"expected {key}=1, got {m}")
            return m
        raise hs_util.HarnessError(f"no {key}=1 within {timeout}s")

    def count_watchdog(self, seconds):
        deadline = time.monotonic() + seconds
        times = []
        while time.monotonic() < deadline:
            m = self._receive(deadline)
            if m is not None and m.get("WATCHDOG") == "1":
                times.append(time.monotonic())
            elif m is not None:
                raise hs_util.HarnessError(f"unexpected message {m}")
        return times

    def close(self):
        self.sock.close()


def start(workdir, manager, watchdog_usec, watchdog_pid=None, notify_socket=None):
    port = hs_util.free_port()
    conf = os.path.join(workdir, "haystackd.conf")
    with open(conf, "w") as f:
        f.write(CONF.format(listen=f"127.0.0.1:{port}", signatures=os.path.join(
            hs_util.env_path("HS_SRC_DIR"), "conf", "signatures.json")))
    env = dict(os.environ, NOTIFY_SOCKET=notify_socket or manager.env_name,
               WATCHDOG_USEC=str(watchdog_usec))
    if watchdog_pid is not None:
        env["WATCHDOG_PID"] = str(watchdog_pid)
    haystackd = os.path.join(hs_util.env_path("HS_BIN_DIR"), "daemon", "haystackd")
    return hs_util.Process([haystackd, "-f", "-c", conf], workdir, env=env), conf, port


def stop(p, manager):
    p.proc.send_signal(signal.SIGTERM)
    manager.expect("STOPPING", 10)
    rc = p.wait(10)
    if rc != 0:
        raise hs_util.HarnessError(f"haystackd exited {rc}\n{p.tail()}")


def exited(p):
    """Why the daemon stopped talking, when it is because it is gone."""
    code = p.proc.poll()
    return "" if code is None else f" (haystackd exited {code})"


def check_path_socket(workdir):
    manager = Manager(os.path.join(workdir, "notify.sock"))
    p, conf, port = start(workdir, manager, WATCHDOG_USEC)
    with p:
        try:
            talk_to_path_socket(p, manager, conf, port)
        except hs_util.HarnessError as e:
            raise hs_util.HarnessError(f"{e}{exited(p)}") from None
    manager.close()


def talk_to_path_socket(p, manager, conf, port):
    ready = manager.expect("READY", 20)
    if f"127.0.0.1:{port}" not in ready.get("STATUS", ""):
        raise hs_util.HarnessError(f"READY without the socket in STATUS: {ready}")
    # Every 0.5 s; a loaded machine (ctest -j2, sanitizers) may delay
    # some, but pings must keep coming and never faster than asked.
    t0 = time.monotonic()
    pings = [t - t0 for t in manager.count_watchdog(4.0)]
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    if len(pings) < 3 or min(gaps) < 0.4:
        shown = ", ".join(f"{t:.2f}" for t in pings)
        raise hs_util.HarnessError(f"watchdog pings at [{shown}] s after READY, "
                                   "expected every 0.5 s")
    print(f"ok: READY=1 ({ready['STATUS']}), {len(pings)} WATCHDOG=1 in 4 s")

    p.proc.send_signal(signal.SIGHUP)
    reloading = manager.expect("RELOADING", 10)
    if not reloading.get("MONOTONIC_USEC", "").isdigit():
        raise hs_util.HarnessError(f"RELOADING=1 without MONOTONIC_USEC: {reloading}")
    manager.expect("READY", 20)
    print("ok: SIGHUP: RELOADING=1, READY=1")

    with open(conf, "a") as f:
        f.write("[collector]\nno_such_key = 1\n")
    p.proc.send_signal(signal.SIGHUP)
    manager.expect("RELOADING", 10)
    refused = manager.expect("READY", 20)
    if "refused" not in refused.get("STATUS", ""):
        raise hs_util.HarnessError(f"a failed reload said {refused}")
    print(f"ok: broken reload: RELOADING=1, READY=1 ({refused['STATUS']})")

    stop(p, manager)
    print("ok: SIGTERM: STOPPING=1, exit 0")


def check_abstract_socket(workdir):
    name = f"\0hs-sd-notify-test-{os.getpid()}".encode()
    manager = Manager(name)
    # Pings every 50 ms if WATCHDOG_PID were ignored.
    p, _, _ = start(workdir, manager, 100000, watchdog_pid=os.getpid())
    with p:
        manager.expect("READY", 20, skip_watchdog=False)
        if manager.count_watchdog(1.0):
            raise hs_util.HarnessError("WATCHDOG=1 sent although WATCHDOG_PID names another process")
        stop(p, manager)
        print("ok: abstract socket: READY=1, no pings for another WATCHDOG_PID, STOPPING=1")
    manager.close()


def check_bad_environment(workdir):
    """A NOTIFY_SOCKET that is no socket address and a WATCHDOG_USEC that is
    no number: each notification is a logged warning, nothing more."""
    p, _, port = start(workdir, None, "12x", notify_socket="relative/notify.sock")
    with p:
        hs_util.wait_for(lambda: hs_util.udp_port_bound(port) or not p.running(), 20,
                         what="haystackd listening")
        time.sleep(1.0)  # pings, were the bad WATCHDOG_USEC taken for one
        rc = p.stop(signal.SIGTERM, timeout=10)
        warnings = p.stderr_text().count("sd_notify to relative/notify.sock")
        if rc != 0 or warnings != 2:
            raise hs_util.HarnessError(f"bad NOTIFY_SOCKET: exit {rc}, {warnings} warnings "
                                       "(expected 0 and 2: READY, STOPPING)")
    print("ok: bad NOTIFY_SOCKET and WATCHDOG_USEC: two warnings, exit 0")


def main():
    with hs_util.temp_dir() as workdir:
        try:
            check_path_socket(workdir)
            check_abstract_socket(workdir)
            check_bad_environment(workdir)
        except hs_util.HarnessError as e:
            print(f"FAIL: {e}")
            with open(os.path.join(workdir, "haystackd.stderr"), errors="replace") as f:
                print(f.read()[-3000:])
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
