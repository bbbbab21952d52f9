#!/usr/bin/python3
"""The Redis publisher when Redis is not there, dies, comes back or stalls,
against a real redis-server that the test kills (SIGKILL), restarts on the
same port and pauses (SIGSTOP): events are queued meanwhile and delivered
in order once Redis is back, a full queue drops its oldest events and counts
them, an event in flight when the connection dies is sent again (at least
once, never lost), a stalled server makes events wait in the queue with the
number in flight capped, one that stops answering altogether is dropped and
reconnected, and closing while Redis is away ends on time and says what was
lost. The driver runs under ASan, so every clean exit also means no leak.
"""

import sys
import time

import hs_redis
import hs_util
from hs_redis import Driver, RedisServer, Subscriber, expect

CHANNEL = "haystack:detections"
STREAM = "haystack:events"
IN_FLIGHT_MAX = 1024            # HS_PUBLISHER_IN_FLIGHT_MAX
IN_FLIGHT_BYTES = 4 << 20       # HS_PUBLISHER_IN_FLIGHT_BYTES
REPLY_TIMEOUT = 5.0             # HS_PUBLISHER_REPLY_TIMEOUT_MS


def conf(tmp, port, extra=""):
    return hs_redis.write_conf(f"{tmp}/haystackd.conf", port,
                               extra=f"stream = {STREAM}\n{extra}")


def drained(d, what, timeout=20):
    return d.wait_stats(lambda s: s["connected"] and s["queued"] == 0, timeout, what)


def test_redis_not_up_yet(tmp):
    """Started before Redis: events wait, connection attempts back off,
    and everything arrives once Redis is up."""
    port = hs_util.free_port("tcp")
    with Driver(conf(tmp, port), tmp) as d:
        d.publish(10)
        s = d.wait_stats(lambda s: s["connect_failures"] >= 3, 5, "3 failed attempts")
        expect((s["queued"], s["connected"]), (10, False), "queued, connected")
        with RedisServer(tmp, port=port) as r:
            drained(d, "queue drained after Redis started", 15)
            expect(r.stream_seqs(STREAM), list(range(1, 11)), "stream")
            expect(d.stats()["reconnects"], 0, "reconnects (first connection)")
            expect(d.close(), 0, "driver exit code")
        if "cannot connect" not in d.log():
            raise AssertionError(f"connection failures not logged:\n{d.log()}")


def test_restart_delivers_queued(tmp):
    """Redis killed while idle: events published meanwhile are queued and
    reach the restarted server, in order."""
    with RedisServer(tmp) as r, Driver(conf(tmp, r.port), tmp) as d:
        d.publish(100)
        drained(d, "first 100")
        r.kill()
        d.wait_stats(lambda s: not s["connected"], 5, "the loss noticed")
        first, last = d.publish(50)
        expect(d.stats()["queued"], 50, "queued while Redis is down")
        r.start()
        drained(d, "queued events delivered after the restart")
        expect(r.stream_seqs(STREAM), list(range(first, last + 1)), "new server's stream")
        s = d.stats()
        expect((s["published"], s["reconnects"], s["dropped_queue_full"]), (150, 1, 0),
               "published, reconnects, dropped")
        expect(d.close(), 0, "driver exit code")
        if "connection lost" not in d.log():
            raise AssertionError(f"disconnect not logged:\n{d.log()}")


def test_queue_full_drops_oldest(tmp):
    """queue_max 20 and 50 events while Redis is down: the 30 oldest are
    dropped and counted, the newest 20 delivered."""
    with RedisServer(tmp) as r, Driver(conf(tmp, r.port, "queue_max = 20\n"), tmp) as d:
        drained(d, "connected")
        r.kill()
        d.wait_stats(lambda s: not s["connected"], 5, "the loss noticed")
        first, last = d.publish(50)
        s = d.stats()
        expect((s["queued"], s["dropped_queue_full"]), (20, 30), "queued, dropped")
        r.start()
        drained(d, "the 20 kept delivered")
        expect(r.stream_seqs(STREAM), list(range(last - 19, last + 1)), "stream")
        expect(d.close(), 0, "driver exit code")
        if "queue full (20 events), dropping the oldest" not in d.log():
            raise AssertionError(f"drop not logged:\n{d.log()}")


def test_requeue_into_full_queue(tmp):
    """queue_max 100 and 300 events in flight when the server dies: back in
    the queue, the 200 oldest are dropped, the newest 100 delivered."""
    with RedisServer(tmp) as r, Driver(conf(tmp, r.port, "queue_max = 100\n"), tmp) as d:
        drained(d, "connected")
        r.pause()
        d.publish(300)
        expect(d.stats()["in_flight"], 300, "in flight (not limited by queue_max)")
        r.kill()
        s = d.wait_stats(lambda s: not s["connected"], 5, "the loss noticed")
        expect((s["queued"], s["dropped_queue_full"]), (100, 200), "queued, dropped")
        r.start()
        drained(d, "the newest 100 delivered")
        expect(r.stream_seqs(STREAM), list(range(201, 301)), "stream")
        expect(d.close(), 0, "driver exit code")


def test_kill_mid_burst(tmp):
    """Redis killed while a burst is in flight: what the old server did not
    acknowledge is sent again to the new one. The old server's subscriber
    saw 1..k, the new stream holds a run that starts at or before k+1 and
    ends with the last event: no event is lost (some may be duplicated)."""
    n = 60000
    with RedisServer(tmp) as r, Driver(conf(tmp, r.port), tmp) as d:
        drained(d, "connected")
        with Subscriber(r, CHANNEL, tmp) as sub:
            d.publish(n)
            hs_util.wait_for(lambda: len(sub.messages()) >= 1000, 10,
                             interval=0.005, what="the burst under way")
            r.kill()
            time.sleep(0.2)
            seen = sub.seqs()
        k = len(seen)
        expect(seen, list(range(1, k + 1)), "old server's channel: a prefix, in order")
        if k >= n:
            raise AssertionError("the burst finished before the kill; test proves nothing")
        r.start()
        drained(d, "the rest delivered", 40)
        seqs = r.stream_seqs(STREAM)
        if not seqs or seqs[0] > k + 1:
            raise AssertionError(f"lost events: old server saw 1..{k}, new stream "
                                 f"starts at {seqs[:1]}")
        expect(seqs, list(range(seqs[0], n + 1)), "new stream: a contiguous run to the end")
        s = d.stats()
        expect((s["published"], s["dropped_queue_full"]), (n, 0), "published, dropped")
        expect(d.close(), 0, "driver exit code")
        if "no reply in" in d.log():  # a reset must be seen at once
            raise AssertionError(f"the loss was found by the reply timeout:\n{d.log()}")


def test_connection_killed_mid_burst(tmp):
    """Redis closes the connection (CLIENT KILL) again and again while a
    burst is being written: the publisher must survive writing to a closed
    socket (SIGPIPE), reconnect each time, and deliver every event."""
    n = 60000
    with RedisServer(tmp) as r, Driver(conf(tmp, r.port), tmp) as d:
        drained(d, "connected")
        d.publish(n)
        kills = 0
        deadline = time.monotonic() + 30
        while d.stats()["queued"] and kills < 20 and time.monotonic() < deadline:
            kills += int(r.cli("CLIENT", "KILL", "TYPE", "normal"))
            time.sleep(0.01)
        s = drained(d, "delivered after the kills", 30)
        if kills == 0:
            raise AssertionError("no connection killed; test proves nothing")
        expect(sorted(set(r.stream_seqs(STREAM))), list(range(1, n + 1)),
               "every event in the stream")
        expect(s["published"], n, "published")
        expect(d.close(), 0, "driver exit code")


def test_slow_redis_caps_in_flight(tmp):
    """A paused server: at most IN_FLIGHT_MAX events are sent, the rest
    wait in the queue; on resume all arrive, once each, in order."""
    with RedisServer(tmp) as r, Driver(conf(tmp, r.port), tmp) as d:
        drained(d, "connected")
        r.pause()
        d.publish(3000)
        s = d.wait_stats(lambda s: s["in_flight"] == IN_FLIGHT_MAX, 5, "in flight capped")
        expect(s["queued"], 3000, "queued (in flight included)")
        time.sleep(0.5)
        expect(d.stats()["in_flight"], IN_FLIGHT_MAX, "still capped")
        r.resume()
        drained(d, "all delivered after the resume")
        expect(r.stream_seqs(STREAM), list(range(1, 3001)), "stream")
        expect(d.stats()["reconnects"], 0, "reconnects")
        expect(d.close(), 0, "driver exit code")


def test_slow_redis_caps_in_flight_bytes(tmp):
    """Large events: what is in flight is capped in bytes too."""
    with RedisServer(tmp) as r, Driver(conf(tmp, r.port), tmp) as d:
        drained(d, "connected")
        r.pause()
        d.publish(200, pad=60000)
        time.sleep(0.3)
        s = d.stats()
        expect(s["queued"], 200, "queued")
        # sending stops at the first event that reaches the cap
        if not IN_FLIGHT_BYTES / 60500 <= s["in_flight"] <= IN_FLIGHT_BYTES / 60000 + 1:
            raise AssertionError(f"{s['in_flight']} events of 60 kB in flight")
        r.resume()
        drained(d, "all delivered after the resume")
        expect(r.stream_seqs(STREAM), list(range(1, 201)), "stream")
        expect(d.close(), 0, "driver exit code")


def test_unanswering_redis_reconnects(tmp):
    """A server that stops answering for longer than the reply timeout is
    given up and reconnected; every event still arrives (at least once)."""
    with RedisServer(tmp) as r, Driver(conf(tmp, r.port), tmp) as d:
        drained(d, "connected")
        r.pause()
        d.publish(20)
        d.wait_stats(lambda s: not s["connected"], REPLY_TIMEOUT + 3, "the stall noticed")
        r.resume()
        drained(d, "delivered after the resume", 20)
        seqs = r.stream_seqs(STREAM)
        expect(sorted(set(seqs)), list(range(1, 21)), "every event in the stream")
        expect(list(dict.fromkeys(seqs)), list(range(1, 21)), "first copies in order")
        s = d.stats()
        expect((s["published"], s["reconnects"]), (20, 1), "published, reconnects")
        expect(d.close(), 0, "driver exit code")
        if "no reply in 5000 ms" not in d.log():
            raise AssertionError(f"the stall not logged:\n{d.log()}")


def test_server_full(tmp):
    """maxclients reached: the server's error is logged, the attempt counted
    as failed and retried; the queue goes through once a slot is free."""
    with RedisServer(tmp, args=["--maxclients", "2"]) as r, \
            Subscriber(r, CHANNEL, tmp, "sub1") as sub1, \
            Subscriber(r, CHANNEL, tmp, "sub2") as sub2, \
            Driver(conf(tmp, r.port), tmp) as d:
        d.publish(3)
        d.wait_stats(lambda s: s["connect_failures"] >= 2, 5, "2 refused attempts")
        if "max number of clients reached" not in d.log():
            raise AssertionError(f"refusal not logged:\n{d.log()}")
        sub1.close()  # both slots free: one for the driver, one for redis-cli
        sub2.close()
        drained(d, "delivered once the subscribers left")
        expect(r.stream_seqs(STREAM), [1, 2, 3], "stream")
        expect(d.close(), 0, "driver exit code")


def test_close_while_down(tmp):
    """close with Redis away ends within the flush timeout, exits cleanly
    and logs the events it could not send."""
    with RedisServer(tmp) as r, Driver(conf(tmp, r.port), tmp) as d:
        drained(d, "connected")
        r.kill()
        d.wait_stats(lambda s: not s["connected"], 5, "the loss noticed")
        d.publish(5)
        started = time.monotonic()
        expect(d.close(), 0, "driver exit code")
        took = time.monotonic() - started
        if not 1.5 < took < 4:
            raise AssertionError(f"close took {took:.1f}s, expected about 2s")
        if "closing with 5 events unsent" not in d.log():
            raise AssertionError(f"loss not logged:\n{d.log()}")


def test_close_reconnects_to_flush(tmp):
    """close during a long backoff: a server that is back by now gets the
    queue at once instead of after the backoff."""
    port = hs_util.free_port("tcp")
    with Driver(conf(tmp, port), tmp) as d:
        d.publish(7)
        d.wait_stats(lambda s: s["connect_failures"] >= 6, 10, "backoff at 3.2 s and more")
        with RedisServer(tmp, port=port) as r:
            started = time.monotonic()
            expect(d.close(), 0, "driver exit code")
            took = time.monotonic() - started
            expect(r.stream_seqs(STREAM), list(range(1, 8)), "stream after close")
            if took > 1.5:
                raise AssertionError(f"close took {took:.1f}s")


TESTS = {name[5:]: fn for name, fn in sorted(globals().items()) if name.startswith("test_")}

if __name__ == "__main__":
    sys.exit(hs_redis.run_tests(TESTS, sys.argv))
