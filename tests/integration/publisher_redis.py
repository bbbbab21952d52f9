#!/usr/bin/python3
"""The Redis publisher (daemon/publisher.c) against a real redis-server, with
redis-cli as the subscriber: events arrive on the channel in order and
unchanged, the stream holds them and is trimmed (approximately) to
stream_maxlen, the per-subscriber state hash follows detected/expired with a
TTL, SELECT puts everything in the configured database, error replies are
counted without stalling the queue, bad events are refused and counted, and
closing flushes the queue. The driver runs under ASan: every close must exit
0, so nothing leaks.
"""

import json
import sys

import hs_redis
import hs_util
from hs_redis import Driver, RedisServer, Subscriber, expect

CHANNEL = "haystack:detections"
STREAM = "haystack:events"
STATE = "haystack:sub:"


def conf(tmp, server, extra="", db=0):
    return hs_redis.write_conf(f"{tmp}/haystackd.conf", server.port, db=db, extra=extra)


def publish_all(driver, n, **kw):
    first, last = driver.publish(n, **kw)
    driver.wait_stats(lambda s: s["published"] >= last and s["queued"] == 0, 20,
                      f"{last} events published")
    return first, last


def test_channel_order(tmp):
    """Every event arrives once, in order, byte for byte as published."""
    with RedisServer(tmp) as r, Subscriber(r, CHANNEL, tmp) as sub, \
            Driver(conf(tmp, r), tmp) as d:
        subscribers = ["198.51.100.7", "198.51.100.8", "2001:db8:1:100::/56"]
        for i in range(6):
            d.publish(500, subscriber=subscribers[i % 3], signature=f"sig{i % 2}")
        d.wait_stats(lambda s: s["published"] == 3000, 20, "3000 published")
        hs_util.wait_for(lambda: len(sub.messages()) >= 3000, 10,
                                  what="3000 messages at the subscriber")
        expect(sub.seqs(), list(range(1, 3001)), "seq order on the channel")
        first = json.loads(sub.messages()[0])
        expect((first["event"], first["subscriber"], first["signature"]),
               ("detected", "198.51.100.7", "sig0"), "first event")
        last = json.loads(sub.messages()[-1])
        expect(last["subscriber"], "2001:db8:1:100::/56", "IPv6 subscriber")
        expect(d.stats()["errors"], 0, "error replies")
        expect(d.close(), 0, "driver exit code")


def test_stream_and_maxlen(tmp):
    """Stream entries carry the event as field "event"; MAXLEN ~ trims."""
    with RedisServer(tmp) as r:
        with Driver(conf(tmp, r, f"stream = {STREAM}\n"), tmp, "d1") as d:
            publish_all(d, 700)
            entries = r.xrange_events(STREAM)
            expect(len(entries), 700, "XLEN")
            expect(list(entries[0][1]), ["event"], "entry fields")
            expect(r.stream_seqs(STREAM), list(range(1, 701)), "stream order")
            expect(d.close(), 0, "driver exit code")
        r.cli("DEL", STREAM)
        with Driver(conf(tmp, r, f"stream = {STREAM}\nstream_maxlen = 50\n"), tmp, "d2") as d:
            publish_all(d, 2000)
            xlen = int(r.cli("XLEN", STREAM))
            # approximate trimming removes whole nodes (stream-node-max-entries
            # = 100 by default), never below the limit
            if not 50 <= xlen <= 50 + 100:
                raise AssertionError(f"XLEN {xlen} after MAXLEN ~ 50")
            seqs = r.stream_seqs(STREAM)
            expect(seqs, list(range(2001 - xlen, 2001)), "the newest entries kept")
            expect(d.close(), 0, "driver exit code")


def test_state_hash(tmp):
    """detected sets the signature's field, expired deletes it; every change
    renews the TTL; the last expiry of a subscriber removes its hash."""
    extra = f"channel =\nstate_prefix = {STATE}\nstate_ttl = 1h\n"
    with RedisServer(tmp) as r, Driver(conf(tmp, r, extra), tmp) as d:
        a, b = "198.51.100.7", "2001:db8:1:100::/56"
        d.publish(1, "detected", a, "echo_cat")
        d.publish(1, "detected", a, "hue_bridge")
        d.publish(1, "expired", a, "echo_cat")
        d.publish(1, "detected", b, "nest_cam")
        _, last = d.publish(1, "expired", b, "nest_cam")
        d.wait_stats(lambda s: s["published"] == last, 10, "5 published")
        state = r.hgetall(STATE + a)
        expect(list(state), ["hue_bridge"], f"fields of {STATE + a}")
        event = json.loads(state["hue_bridge"])
        expect((event["event"], event["signature"], event["seq"]),
               ("detected", "hue_bridge", 2), "the field's value: the event")
        pttl = int(r.cli("PTTL", STATE + a))
        if not 3_500_000 < pttl <= 3_600_000:
            raise AssertionError(f"PTTL {pttl}, expected about 1h")
        expect(r.cli("EXISTS", STATE + b), "0", f"{STATE + b} after its last expiry")
        expect(r.cli("KEYS", "*"), STATE + a, "keys written (no channel, no stream)")
        expect(d.close(), 0, "driver exit code")


def test_ipv6_and_host_name(tmp):
    """[::1] in the URL, and "localhost" (resolved off the loop; IPv4 first)."""
    with RedisServer(tmp, "redis6", host=hs_util.LOOPBACK6) as r6, \
            Driver(hs_redis.write_conf(f"{tmp}/v6.conf", r6.port, host=hs_util.LOOPBACK6,
                                       extra=f"stream = {STREAM}\n"), tmp, "d6") as d:
        publish_all(d, 3)
        expect(r6.stream_seqs(STREAM), [1, 2, 3], "stream over IPv6")
        expect(d.close(), 0, "driver exit code")
        if f"redis [::1]:{r6.port}: connected" not in d.log():
            raise AssertionError(f"IPv6 address not bracketed in the log:\n{d.log()}")
    with RedisServer(tmp, "redis4") as r4, \
            Driver(hs_redis.write_conf(f"{tmp}/v4.conf", r4.port, host="localhost",
                                       extra=f"stream = {STREAM}\n"), tmp, "d4") as d:
        publish_all(d, 3)
        expect(r4.stream_seqs(STREAM), [1, 2, 3], "stream through localhost")
        expect(d.close(), 0, "driver exit code")


def test_select_db(tmp):
    """/3 in the URL: stream and state in database 3, nothing in 0."""
    extra = f"stream = {STREAM}\nstate_prefix = {STATE}\n"
    with RedisServer(tmp) as r, Driver(conf(tmp, r, extra, db=3), tmp) as d:
        publish_all(d, 10)
        expect(r.cli("XLEN", STREAM, db=3), "10", "XLEN in db 3")
        expect(r.cli("HLEN", STATE + "198.51.100.7", db=3), "1", "state in db 3")
        expect(r.cli("DBSIZE"), "0", "keys in db 0")
        expect(d.close(), 0, "driver exit code")


def test_error_replies_counted(tmp):
    """A key of the wrong type makes HSET fail: counted and logged, the
    event still leaves the queue, and the events after it go through."""
    extra = f"stream = {STREAM}\nstate_prefix = {STATE}\n"
    with RedisServer(tmp) as r, Driver(conf(tmp, r, extra), tmp) as d:
        r.cli("SET", STATE + "198.51.100.9", "not a hash")
        d.publish(3, subscriber="198.51.100.9")
        publish_all(d, 3, subscriber="198.51.100.10")
        s = d.stats()
        expect((s["published"], s["errors"]), (6, 3), "published, errors (3 HSET)")
        expect(r.stream_seqs(STREAM), [1, 2, 3, 4, 5, 6], "stream")
        if "WRONGTYPE" not in d.log():
            raise AssertionError(f"no WRONGTYPE in the log:\n{d.log()}")
        expect(d.close(), 0, "driver exit code")


def test_invalid_events(tmp):
    """An empty event, one without a subscriber (state kept) and one over
    64 KiB are refused; one just under the limit goes through."""
    with RedisServer(tmp) as r, Driver(conf(tmp, r), tmp) as d:
        expect(d.cmd("invalid"), "ok", "invalid")
        d.publish(1, pad=66000)
        d.publish(1, pad=64000)
        s = d.wait_stats(lambda s: s["queued"] == 0 and s["published"], 10, "1 published")
        expect((s["dropped_invalid"], s["published"]), (3, 1), "dropped_invalid, published")
        expect(d.close(), 0, "driver exit code")


def test_close_flushes(tmp):
    """close right after a burst: everything reaches Redis before the
    driver exits, and the close says so."""
    extra = f"stream = {STREAM}\n"
    with RedisServer(tmp) as r, Subscriber(r, CHANNEL, tmp) as sub, \
            Driver(conf(tmp, r, extra), tmp) as d:
        d.publish(20000)
        expect(d.close(), 0, "driver exit code")
        expect(r.cli("XLEN", STREAM), "20000", "XLEN after close")
        hs_util.wait_for(lambda: len(sub.messages()) >= 20000, 10,
                                  what="20000 messages at the subscriber")
        expect(sub.seqs(), list(range(1, 20001)), "channel order")
        if "20000 events published, 0 lost" not in d.log():
            raise AssertionError(f"close summary missing:\n{d.log()}")


TESTS = {name[5:]: fn for name, fn in sorted(globals().items()) if name.startswith("test_")}

if __name__ == "__main__":
    sys.exit(hs_redis.run_tests(TESTS, sys.argv))
