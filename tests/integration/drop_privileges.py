#!/usr/bin/python3
"""`haystackd -u nobody`, started as root: it binds its socket, then runs
as nobody (uid, gid, no supplementary groups) and keeps decoding; an
unknown user is refused with a clear message and exit 1.
"""

import os
import pwd
import subprocess
import sys
import time

import hs_collectors
import hs_craft as C
import hs_util


def ids(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "Groups"):
                out[key] = value.split()
    return out


def main():
    if os.geteuid() != 0:
        print("SKIP: needs root")
        return 77
    nobody = pwd.getpwnam("nobody")
    failures = []
    with hs_util.temp_dir() as tmp:
        hd = hs_collectors.HaystackdCollector(tmp)
        hd.command += ["-u", "nobody"]
        with hd:
            now = int(time.time() * 1000)
            rec = C.encode_record(C.FLOW4, {C.SRC4: "100.64.0.1", C.DST4: "198.18.0.5",
                                            C.SPORT: 4242, C.DPORT: 443, C.PROTO: 6,
                                            C.PACKETS: 1, C.OCTETS: 60,
                                            C.FLOW_START_MS: now, C.FLOW_END_MS: now})
            C.send_udp(C.ipfix_message([C.template_set(10, [(256, C.FLOW4)]),
                                        C.data_set(256, [rec])]), hd.port)
            st = ids(hd.process.pid)
            records = hd.records(expect=1)
        want_uid, want_gid = str(nobody.pw_uid), str(nobody.pw_gid)
        if st["Uid"] != [want_uid] * 4 or st["Gid"] != [want_gid] * 4 or st["Groups"]:
            failures.append(f"ids after binding: {st}")
        if [r["sport"] for r in records] != [4242]:
            failures.append(f"records as nobody: {records}")
        conf = os.path.join(tmp, "haystackd.conf")
        bad = subprocess.run([os.path.join(hs_util.env_path("HS_BIN_DIR"), "daemon", "haystackd"),
                              "-f", "-c", conf, "-u", "no-such-user-here"],
                             capture_output=True, timeout=20)
        if bad.returncode != 1 or b"no-such-user-here: no such user" not in bad.stderr:
            failures.append(f"unknown user: exit {bad.returncode}, {bad.stderr[-300:]!r}")
    return hs_util.report(failures)


if __name__ == "__main__":
    sys.exit(main())
