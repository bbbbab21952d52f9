"""Deterministic pcaps of IoT-style traffic, with the flows they must yield.

A test feeds the capture to a real exporter and compares what a collector
decodes against `expected`: one entry per direction of every conversation,
because exporters (softflowd, pmacctd's nfprobe) report each direction as its
own record.  The same seed always gives byte-identical captures, so a failing
case can be replayed.

Conversations go between subscriber lines (100.64.0.0/10, 2001:db8:1::/48)
and IoT backends (198.18.0.0/15, 2001:db8:ffff::/48) on the services IoT
devices use: MQTT over TLS (tcp/8883), HTTPS (tcp/443), CoAP (udp/5683),
NTP (udp/123) and DNS (udp/53).  TCP conversations are complete (SYN .. FIN)
so exporters end them without waiting for a timeout.  Conversation starts are
spread over `period` seconds of capture time (hours of a subscriber's life
compressed or not, as the test likes); inside a conversation packets are
`gap` seconds apart or less, so no exporter idle timeout splits a flow.

Byte counts are IP total lengths (header included, link layer excluded),
which is what softflowd and pmacctd export as octetDeltaCount.
"""

import dataclasses
import ipaddress
import random
import struct

from scapy.all import IP, IPv6, TCP, UDP, Ether, Raw

SUBSCRIBERS4 = ipaddress.ip_network("100.64.0.0/10")
SUBSCRIBERS6 = ipaddress.ip_network("2001:db8:1::/48")
BACKENDS4 = ipaddress.ip_network("198.18.0.0/15")
BACKENDS6 = ipaddress.ip_network("2001:db8:ffff::/48")

TCP_PROTO = 6
UDP_PROTO = 17

# name: (protocol, server port, request payload range, response payload range)
SERVICES = {
    "mqtt": (TCP_PROTO, 8883, (20, 300), (4, 120)),
    "https": (TCP_PROTO, 443, (100, 1400), (200, 1400)),
    "coap": (UDP_PROTO, 5683, (10, 120), (4, 200)),
    "ntp": (UDP_PROTO, 123, (48, 48), (48, 48)),
    "dns": (UDP_PROTO, 53, (28, 60), (44, 300)),
}

ETH_TYPES = {False: 0x0800, True: 0x86DD}  # keyed by "is IPv6"
CLIENT_MAC = "02:00:00:00:00:01"
SERVER_MAC = "02:00:00:00:00:02"


@dataclasses.dataclass(frozen=True)
class Flow:
    """One direction of a conversation, as an exporter should report it.

    Addresses are strings in canonical form (ipaddress's str()), times are
    float seconds since the epoch of the first and last packet of this
    direction, and of the whole conversation (`conv_first`, `conv_last`):
    softflowd stamps both directions' records with the conversation's times.
    """

    src: str
    dst: str
    sport: int
    dport: int
    proto: int
    packets: int
    bytes: int
    first: float
    last: float
    service: str = ""
    conv_first: float = 0.0
    conv_last: float = 0.0

    @property
    def key(self):
        return (self.src, self.dst, self.sport, self.dport, self.proto)

    @property
    def family(self):
        return 6 if ":" in self.src else 4


@dataclasses.dataclass
class Capture:
    """A written pcap and the flows it contains (one per direction)."""

    path: str
    expected: list
    packets: int

    def counts(self):
        return len(self.expected), sum(f.packets for f in self.expected)


class _Direction:
    """Accumulates one direction's packets while a conversation is built."""

    def __init__(self, src, dst, sport, dport, proto):
        self.src, self.dst, self.sport, self.dport, self.proto = src, dst, sport, dport, proto
        self.packets = self.bytes = 0
        self.first = self.last = None

    def count(self, pkt_ip, t):
        self.packets += 1
        self.bytes += len(pkt_ip)
        self.first = t if self.first is None else self.first
        self.last = t

    def flow(self, service, conv_first, conv_last):
        return Flow(self.src, self.dst, self.sport, self.dport, self.proto,
                    self.packets, self.bytes, self.first, self.last, service,
                    conv_first, conv_last)


class _Builder:
    """Builds the packets of one conversation in time order."""

    def __init__(self, rng, client, server, sport, dport, proto, start, gap):
        self.rng, self.t, self.gap = rng, start, gap
        self.v6 = ":" in client
        self.up = _Direction(client, server, sport, dport, proto)
        self.down = _Direction(server, client, dport, sport, proto)
        self.frames = []
        self.seq = {True: rng.randrange(1 << 32), False: rng.randrange(1 << 32)}

    def _ip(self, upstream):
        d = self.up if upstream else self.down
        if self.v6:
            return IPv6(src=d.src, dst=d.dst, hlim=64)
        return IP(src=d.src, dst=d.dst, ttl=64, id=self.rng.randrange(65536))

    def _emit(self, upstream, l4):
        ip = bytes(self._ip(upstream) / l4)  # lengths and checksums filled in
        smac, dmac = (CLIENT_MAC, SERVER_MAC) if upstream else (SERVER_MAC, CLIENT_MAC)
        self.t = round(self.t, 6)  # pcap keeps microseconds
        self.frames.append((self.t, bytes(Ether(src=smac, dst=dmac, type=ETH_TYPES[self.v6]))
                            + ip))
        (self.up if upstream else self.down).count(ip, self.t)
        self.t += self.rng.uniform(self.gap / 10, self.gap)

    def tcp(self, upstream, flags, payload=0):
        d = self.up if upstream else self.down
        ack = self.seq[not upstream] if "A" in flags else 0
        seg = TCP(sport=d.sport, dport=d.dport, flags=flags, seq=self.seq[upstream],
                  ack=ack, window=64240)
        if payload:
            seg = seg / Raw(self.rng.randbytes(payload))
        self._emit(upstream, seg)
        consumed = payload + ("S" in flags) + ("F" in flags)  # SYN and FIN take one
        self.seq[upstream] = (self.seq[upstream] + consumed) % (1 << 32)

    def udp(self, upstream, payload):
        d = self.up if upstream else self.down
        data = self.rng.randbytes(payload)
        self._emit(upstream, UDP(sport=d.sport, dport=d.dport) / Raw(data))

    def flows(self, service):
        first, last = self.frames[0][0], self.frames[-1][0]
        return [d.flow(service, first, last) for d in (self.up, self.down) if d.packets]


def _write_pcap(path, frames):
    """Write (time, Ethernet frame) pairs as a classic microsecond pcap."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for t, frame in frames:
            usec = round(t * 1_000_000)
            f.write(struct.pack("<IIII", usec // 1_000_000, usec % 1_000_000,
                                len(frame), len(frame)))
            f.write(frame)


def _random_host(rng, net):
    # Skip the network's first and last 256 addresses: no .0 / .255 surprises.
    return str(net[rng.randrange(256, net.num_addresses - 256)])


def _tcp_conversation(b, rng, req, resp, exchanges):
    b.tcp(True, "S")
    b.tcp(False, "SA")
    b.tcp(True, "A")
    for _ in range(exchanges):
        b.tcp(True, "PA", rng.randint(*req))
        b.tcp(False, "PA", rng.randint(*resp))
        b.tcp(True, "A")
    b.tcp(True, "FA")
    b.tcp(False, "FA")
    b.tcp(True, "A")


def _udp_conversation(b, rng, req, resp, exchanges, one_way):
    for _ in range(exchanges):
        b.udp(True, rng.randint(*req))
        if not one_way:
            b.udp(False, rng.randint(*resp))


def _pick(rng, choices, v6, net4, net6):
    """An address from `choices` of the wanted family, or a random one."""
    family = [a for a in choices or () if (":" in a) == v6]
    if family:
        return str(ipaddress.ip_address(family[rng.randrange(len(family))]))
    return _random_host(rng, net6 if v6 else net4)


def generate(path, seed, conversations, period=3 * 3600.0, v6_fraction=0.2,
             start=1700000000.0, gap=0.2, max_exchanges=4, services=None,
             clients=None, servers=None):
    """Write a pcap of `conversations` to `path`; return a Capture.

    `seed` makes it reproducible; `period` spreads conversation starts over
    that many seconds from `start`; `v6_fraction` of conversations are IPv6;
    each has 1..`max_exchanges` request/response exchanges with packets at
    most `gap` seconds apart.  A fifth of the CoAP conversations are one-way
    (non-confirmable messages), so some conversations give a single record.
    `services` limits the services (names of SERVICES); `clients` and
    `servers`, lists of addresses, replace the random subscriber and backend
    addresses of their family (to reach a signature's endpoints, say).
    """
    rng = random.Random(seed)
    names = sorted(services or SERVICES)
    used = set()
    frames, expected = [], []
    for _ in range(conversations):
        service = names[rng.randrange(len(names))]
        proto, port, req, resp = SERVICES[service]
        v6 = rng.random() < v6_fraction
        for _attempt in range(1000):
            client = _pick(rng, clients, v6, SUBSCRIBERS4, SUBSCRIBERS6)
            server = _pick(rng, servers, v6, BACKENDS4, BACKENDS6)
            sport = rng.randrange(32768, 61000)
            if (client, server, sport, port, proto) not in used:
                used.add((client, server, sport, port, proto))
                break
        else:
            raise ValueError("no unused 5-tuple left for another conversation")
        t0 = start + rng.uniform(0, period)
        b = _Builder(rng, client, server, sport, port, proto, t0, gap)
        exchanges = rng.randint(1, max_exchanges)
        if proto == TCP_PROTO:
            _tcp_conversation(b, rng, req, resp, exchanges)
        else:
            one_way = service == "coap" and rng.random() < 0.2
            _udp_conversation(b, rng, req, resp, exchanges, one_way)
        frames.extend(b.frames)
        expected.extend(b.flows(service))
    frames.sort(key=lambda f: f[0])
    _write_pcap(path, frames)
    expected.sort(key=lambda f: (f.first, f.key))
    return Capture(path, expected, len(frames))


TRAILER_SRC = "192.0.2.1"  # TEST-NET-1: never a subscriber or a backend
TRAILER_DST = "192.0.2.2"
TRAILER_PORT = 9  # discard
TRAILER_KEY = (TRAILER_SRC, TRAILER_DST, TRAILER_PORT, TRAILER_PORT, UDP_PROTO)

_PCAP_MAGICS = {  # magic: (byte order, timestamp ticks a second)
    b"\xd4\xc3\xb2\xa1": ("<", 10**6), b"\xa1\xb2\xc3\xd4": (">", 10**6),
    b"\x4d\x3c\xb2\xa1": ("<", 10**9), b"\xa1\xb2\x3c\x4d": (">", 10**9),
}


def _last_timestamp(data):
    """Byte order, ticks a second and last packet time (in ticks) of a pcap."""
    if data[:4] not in _PCAP_MAGICS:
        raise ValueError("not a pcap file (pcapng is not supported)")
    order, hz = _PCAP_MAGICS[data[:4]]
    if struct.unpack(order + "I", data[20:24])[0] != 1:
        raise ValueError("only Ethernet captures can get a trailer")
    off, last = 24, 0
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(order + "IIII", data[off:off + 16])
        last = sec * hz + frac
        off += 16 + incl
    return order, hz, last


def with_trailer(src, dst, packets):
    """Copy capture `src` to `dst` with a one-way UDP flow of `packets` packets
    (key TRAILER_KEY) appended one millisecond apart after its last packet.

    Some exporters mishandle the very end of a capture (pmacctd 1.7.7 counts
    its last packet buffer twice); the trailer absorbs that, and comparisons
    leave TRAILER_KEY out.
    """
    with open(src, "rb") as f:
        data = f.read()
    order, hz, t = _last_timestamp(data)
    records = []
    for i in range(packets):
        t += hz // 1000
        frame = bytes(Ether(src=CLIENT_MAC, dst=SERVER_MAC)
                      / IP(src=TRAILER_SRC, dst=TRAILER_DST, id=i)
                      / UDP(sport=TRAILER_PORT, dport=TRAILER_PORT) / Raw(b"\0" * 8))
        header = struct.pack(order + "IIII", t // hz, t % hz, len(frame), len(frame))
        records.append(header + frame)
    with open(dst, "wb") as f:
        f.write(data + b"".join(records))
