#!/usr/bin/python3
"""The Redis publisher's handshake against a real redis-server: AUTH with
the password of the URL (requirepass) and with a Redis 6+ ACL user and
password (percent-encoded in the URL), SELECT, and what an operator sees
when they are wrong: a wrong password, a missing one and a database out of
range are logged as errors with a hint and retried with backoff, and the
queued events are delivered once the server accepts; an ACL user missing a
permission gets its error replies counted while what it may do goes on.
"""

import sys

import hs_redis
import hs_util
from hs_redis import Driver, RedisServer, Subscriber, expect

CHANNEL = "haystack:detections"
STREAM = "haystack:events"
STATE = "haystack:sub:"
EXTRA = f"stream = {STREAM}\nstate_prefix = {STATE}\n"


def conf(tmp, server, url_auth="", db=0):
    return hs_redis.write_conf(f"{tmp}/haystackd.conf", server.port, url_auth=url_auth,
                               db=db, extra=EXTRA)


def delivered(d, r, n, what):
    d.wait_stats(lambda s: s["published"] == n and s["queued"] == 0, 10, what)
    expect(r.stream_seqs(STREAM), list(range(1, n + 1)), f"{what}: stream")


def expect_logged(d, text):
    if text not in d.log():
        raise AssertionError(f"{text!r} not logged:\n{d.log()}")


def test_requirepass(tmp):
    with RedisServer(tmp, password="s3cret") as r, Subscriber(r, CHANNEL, tmp) as sub, \
            Driver(conf(tmp, r, ":s3cret@"), tmp) as d:
        d.publish(5)
        delivered(d, r, 5, "with AUTH password")
        hs_util.wait_for(lambda: len(sub.messages()) == 5, 5, what="5 messages")
        expect(d.stats()["connect_failures"], 0, "connect failures")
        expect(d.close(), 0, "driver exit code")


def add_acl_user(r, name, password, commands):
    r.cli("ACL", "SETUSER", name, "on", f">{password}", "resetkeys", "~haystack:*",
          "resetchannels", "&haystack:*", "-@all", *[f"+{c}" for c in commands])


ALL = ["ping", "select", "publish", "xadd", "hset", "hdel", "pexpire"]


def test_acl_user(tmp):
    """AUTH user password, with ':', '@' and '/' in the password."""
    with RedisServer(tmp, password="admin") as r:
        add_acl_user(r, "haystack", "p@ss:w/rd", ALL)
        with Driver(conf(tmp, r, "haystack:p%40ss%3Aw%2Frd@", db=2), tmp) as d:
            d.publish(5)
            d.wait_stats(lambda s: s["published"] == 5, 10, "5 published as an ACL user")
            expect(r.stream_seqs(STREAM, db=2), [1, 2, 3, 4, 5], "stream in db 2")
            expect(d.stats()["errors"], 0, "error replies")
            expect(d.close(), 0, "driver exit code")


def test_wrong_password_retried(tmp):
    """WRONGPASS: an error with a hint, retried with backoff; once the
    server takes that password the queue goes through."""
    with RedisServer(tmp, password="right") as r, \
            Driver(conf(tmp, r, ":wrong@"), tmp) as d:
        d.publish(5)
        s = d.wait_stats(lambda s: s["connect_failures"] >= 3, 5, "3 refused attempts")
        expect((s["connected"], s["queued"]), (False, 5), "connected, queued")
        expect_logged(d, "error: redis 127.0.0.1:%d: AUTH refused: WRONGPASS" % r.port)
        expect_logged(d, "disabled. Check the user and password in [redis] url.")
        r.cli("CONFIG", "SET", "requirepass", "wrong")
        r.password = "wrong"
        delivered(d, r, 5, "after the server took the password")
        expect(d.close(), 0, "driver exit code")


def test_missing_password(tmp):
    """No password in the URL for a server that wants one: NOAUTH, said
    clearly; closing then reports the events it could not send."""
    with RedisServer(tmp, password="s3cret") as r, Driver(conf(tmp, r), tmp) as d:
        d.publish(2)
        d.wait_stats(lambda s: s["connect_failures"] >= 2, 5, "2 refused attempts")
        expect_logged(d, "PING refused: NOAUTH")
        expect(d.close(), 0, "driver exit code")
        expect_logged(d, "closing with 2 events unsent")


def test_database_out_of_range(tmp):
    with RedisServer(tmp) as r, Driver(conf(tmp, r, db=99), tmp) as d:
        d.wait_stats(lambda s: s["connect_failures"] >= 2, 5, "2 refused attempts")
        expect_logged(d, "SELECT refused: ERR DB index is out of range")
        expect_logged(d, "out of range. Check the database number in [redis] url.")
        expect(d.close(), 0, "driver exit code")


def test_acl_permission_missing(tmp):
    """An ACL user without XADD: every XADD fails and is counted; PUBLISH
    and the state hash still work and the queue does not stall."""
    with RedisServer(tmp, password="admin") as r:
        add_acl_user(r, "haystack", "pw", [c for c in ALL if c != "xadd"])
        with Subscriber(r, CHANNEL, tmp) as sub, \
                Driver(conf(tmp, r, "haystack:pw@"), tmp) as d:
            d.publish(4)
            s = d.wait_stats(lambda s: s["published"] == 4, 10, "4 published")
            expect(s["errors"], 4, "error replies (XADD)")
            expect_logged(d, "XADD failed: NOPERM")
            hs_util.wait_for(lambda: len(sub.messages()) == 4, 5, what="4 messages")
            expect(r.cli("HLEN", STATE + "198.51.100.7"), "1", "state hash")
            expect(r.cli("EXISTS", STREAM), "0", "stream")
            expect(d.close(), 0, "driver exit code")


TESTS = {name[5:]: fn for name, fn in sorted(globals().items()) if name.startswith("test_")}

if __name__ == "__main__":
    sys.exit(hs_redis.run_tests(TESTS, sys.argv))
