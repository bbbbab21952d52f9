"""Hand-made IPFIX (RFC 7011) and NetFlow v9 (RFC 3954) datagrams.

Real exporters only send well-formed messages; a collector's bad-input tests
need the others too: truncated datagrams, templates with no fields, fields
of length zero, a withdrawn template followed by data, a template id reused
with another layout, lengths that lie.  Everything here is plain struct
packing so any byte can be made wrong on purpose: each builder takes the
honest value by default and an override (`length=`, `count=`) to lie.

A field list is [(ie, length)] or [(ie, length, enterprise)] (IPFIX only);
a set builder returns a Set (its bytes and how many records it holds, which
a NetFlow v9 header counts).  A small parser reads messages back, for the
builders' own tests and for checking what a real exporter announced:

    tmpl = template_set(10, [(256, FLOW4)])
    data = data_set(256, [encode_record(FLOW4, {SRC4: "100.64.0.1", ...})])
    send_udp(ipfix_message([tmpl, data], domain=7), port)
"""

import collections
import ipaddress
import socket
import struct
import time

import hs_util

# Information elements the project decodes (IANA IPFIX numbers, which
# NetFlow v9 shares for these).
OCTETS, PACKETS, PROTO, SPORT, SRC4, DPORT, DST4 = 1, 2, 4, 7, 8, 11, 12
LAST_SWITCHED, FIRST_SWITCHED, SRC6, DST6 = 21, 22, 27, 28
SAMPLING_INTERVAL, SAMPLING_ALGORITHM = 34, 35
METERING_PROCESS_ID, FLOW_START_MS, FLOW_END_MS = 143, 152, 153
SELECTOR_ALGORITHM, SAMPLING_PACKET_INTERVAL, SAMPLING_PACKET_SPACE = 304, 305, 306

VARIABLE = 65535  # IPFIX variable-length field marker

FLOW4 = [(SRC4, 4), (DST4, 4), (SPORT, 2), (DPORT, 2), (PROTO, 1),
         (PACKETS, 8), (OCTETS, 8), (FLOW_START_MS, 8), (FLOW_END_MS, 8)]
FLOW6 = [(SRC6, 16), (DST6, 16), (SPORT, 2), (DPORT, 2), (PROTO, 1),
         (PACKETS, 8), (OCTETS, 8), (FLOW_START_MS, 8), (FLOW_END_MS, 8)]
# NetFlow v9 routers report times as sysUpTime milliseconds.
FLOW4_V9 = [(SRC4, 4), (DST4, 4), (SPORT, 2), (DPORT, 2), (PROTO, 1),
            (PACKETS, 4), (OCTETS, 4), (FIRST_SWITCHED, 4), (LAST_SWITCHED, 4)]

IPFIX_TEMPLATE_SET, IPFIX_OPTIONS_SET = 2, 3
V9_TEMPLATE_SET, V9_OPTIONS_SET = 0, 1

Set = collections.namedtuple("Set", "data records")


def _field_spec(version, field):
    ie, length = field[0], field[1]
    enterprise = field[2] if len(field) > 2 else None
    if enterprise is None:
        return struct.pack("!HH", ie, length)
    if version != 10:
        raise ValueError("enterprise fields exist in IPFIX only")
    return struct.pack("!HHI", ie | 0x8000, length, enterprise)


def _set(set_id, body, records, length=None, pad=0):
    body += b"\0" * pad
    return Set(struct.pack("!HH", set_id, 4 + len(body) if length is None else length) + body,
               records)


def template_set(version, templates, length=None):
    """A template set holding [(template_id, fields)] (fields may be empty:
    in IPFIX a template with no fields withdraws that template id)."""
    body = b"".join(struct.pack("!HH", tid, len(fields))
                    + b"".join(_field_spec(version, f) for f in fields)
                    for tid, fields in templates)
    set_id = IPFIX_TEMPLATE_SET if version == 10 else V9_TEMPLATE_SET
    return _set(set_id, body, len(templates), length)


def withdrawal_set(template_ids, length=None):
    """An IPFIX template withdrawal (RFC 7011 8.1) for the given ids."""
    return template_set(10, [(tid, []) for tid in template_ids], length)


def options_template_set(version, template_id, scopes, options, length=None):
    """An options template: `scopes` then `options`, both field lists.

    NetFlow v9 counts scope and option lengths in bytes (4 per field); IPFIX
    gives the total field count and the scope field count.
    """
    fields = b"".join(_field_spec(version, f) for f in list(scopes) + list(options))
    if version == 10:
        head = struct.pack("!HHH", template_id, len(scopes) + len(options), len(scopes))
        return _set(IPFIX_OPTIONS_SET, head + fields, 1, length)
    head = struct.pack("!HHH", template_id, 4 * len(scopes), 4 * len(options))
    body = head + fields
    return _set(V9_OPTIONS_SET, body, 1, length, pad=(-len(body)) % 4)


def data_set(template_id, records, length=None, pad=0):
    """A data set for `template_id` with already encoded `records`."""
    return _set(template_id, b"".join(records), len(records), length, pad)


def encode_value(length, value):
    """Pack one field value: int (big-endian), IP address string, or bytes."""
    if isinstance(value, str):
        value = ipaddress.ip_address(value).packed
    if isinstance(value, int):
        return value.to_bytes(length, "big")
    if length == VARIABLE:
        n = len(value)
        return (bytes([n]) if n < 255 else b"\xff" + struct.pack("!H", n)) + value
    if len(value) != length:
        raise ValueError(f"value of {len(value)} bytes for a field of {length}")
    return bytes(value)


def encode_record(fields, values):
    """Encode one data record; `values` maps IE number to value (0 if absent)."""
    return b"".join(encode_value(f[1], values.get(f[0], 0 if f[1] != VARIABLE else b""))
                    for f in fields)


def ipfix_message(sets, domain=0, seq=0, export_time=None, length=None, version=10):
    """An IPFIX message (16-byte header) around `sets` (Set or raw bytes)."""
    body = b"".join(s.data if isinstance(s, Set) else s for s in sets)
    export_time = int(time.time()) if export_time is None else export_time
    total = 16 + len(body) if length is None else length
    return struct.pack("!HHIII", version, total, export_time, seq, domain) + body


def v9_packet(sets, source_id=0, seq=0, sys_uptime=0, unix_secs=None, count=None):
    """A NetFlow v9 packet (20-byte header); `count` defaults to the number
    of records the sets hold, as RFC 3954 says."""
    body = b"".join(s.data if isinstance(s, Set) else s for s in sets)
    if count is None:
        count = sum(s.records for s in sets if isinstance(s, Set))
    unix_secs = int(time.time()) if unix_secs is None else unix_secs
    return struct.pack("!HHIIII", 9, count, sys_uptime, unix_secs, seq, source_id) + body


def truncate(datagram, size):
    """The first `size` bytes of a datagram, as a lossy path delivers it."""
    return datagram[:size]


def send_udp(datagrams, port, host=hs_util.LOOPBACK4, pause=0.0):
    """Send one datagram (bytes) or a list of them to a loopback port."""
    if host not in (hs_util.LOOPBACK4, hs_util.LOOPBACK6):
        raise ValueError(f"crafted datagrams only go to loopback, not {host}")
    if isinstance(datagrams, (bytes, bytearray)):
        datagrams = [datagrams]
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        for d in datagrams:
            s.sendto(d, (host, port))
            if pause:
                time.sleep(pause)
    return len(datagrams)


# --- reading messages back ------------------------------------------------

Message = collections.namedtuple("Message", "version domain export_time seq sets")
ParsedSet = collections.namedtuple("ParsedSet", "set_id kind body")
Template = collections.namedtuple("Template", "template_id fields scope_count")


def parse_message(data):
    """Split an IPFIX or v9 datagram into its header and raw sets.

    Raises ValueError on anything malformed: this reads our own builders'
    output and real exporters', it is not a robust collector.
    """
    if len(data) < 4:
        raise ValueError("datagram shorter than a version field")
    version = struct.unpack("!H", data[:2])[0]
    if version == 10:
        _, length, export_time, seq, domain = struct.unpack("!HHIII", data[:16])
        if length != len(data):
            raise ValueError(f"IPFIX length {length}, datagram {len(data)}")
        off, templates, options = 16, IPFIX_TEMPLATE_SET, IPFIX_OPTIONS_SET
    elif version == 9:
        _, _, _, export_time, seq, domain = struct.unpack("!HHIIII", data[:20])
        off, templates, options = 20, V9_TEMPLATE_SET, V9_OPTIONS_SET
    else:
        raise ValueError(f"version {version} is neither 9 nor 10")
    sets = []
    while off < len(data):
        if off + 4 > len(data):
            raise ValueError(f"set header truncated at {off}")
        set_id, set_len = struct.unpack("!HH", data[off:off + 4])
        if set_len < 4 or off + set_len > len(data):
            raise ValueError(f"set at {off} claims {set_len} bytes")
        kind = {templates: "template", options: "options"}.get(
            set_id, "data" if set_id >= 256 else "reserved")
        sets.append(ParsedSet(set_id, kind, data[off + 4:off + set_len]))
        off += set_len
    return Message(version, domain, export_time, seq, sets)


def _read_fields(version, body, off, count):
    fields = []
    for _ in range(count):
        ie, length = struct.unpack("!HH", body[off:off + 4])
        off += 4
        if version == 10 and ie & 0x8000:
            fields.append((ie & 0x7FFF, length, struct.unpack("!I", body[off:off + 4])[0]))
            off += 4
        else:
            fields.append((ie, length))
    return fields, off


def parse_templates(version, parsed_set):
    """The templates (or options templates) a template set defines."""
    body, off, out = parsed_set.body, 0, []
    while off + 4 <= len(body):
        tid, a, b = struct.unpack("!HHH", (body[off:off + 6] + b"\0\0")[:6])
        if parsed_set.kind == "template":
            fields, off = _read_fields(version, body, off + 4, a)
            out.append(Template(tid, fields, 0))
        elif version == 10:
            fields, off = _read_fields(version, body, off + 6, a)
            out.append(Template(tid, fields, b))
        else:
            scopes, options = a // 4, b // 4
            fields, off = _read_fields(version, body, off + 6, scopes + options)
            out.append(Template(tid, fields, scopes))
            break  # the rest of a v9 options set is padding
    return out


def decode_records(template, body):
    """Data records of a data set as {ie: int or bytes}; padding is dropped."""
    records, off = [], 0
    fixed = all(f[1] != VARIABLE for f in template.fields)
    size = sum(f[1] for f in template.fields) if fixed else None
    while off < len(body) and (size is None or off + size <= len(body)):
        if size == 0:
            break
        record = {}
        for f in template.fields:
            length = f[1]
            if length == VARIABLE:
                length = body[off]
                off += 1
                if length == 255:
                    length = struct.unpack("!H", body[off:off + 2])[0]
                    off += 2
            raw = body[off:off + length]
            off += length
            record[f[0]] = int.from_bytes(raw, "big") if 0 < length <= 8 and \
                f[0] not in (SRC4, DST4, SRC6, DST6) else raw
        records.append(record)
    return records


def announced_sampling(datagrams):
    """Sampling intervals announced in the options records of `datagrams`.

    Looks for samplingInterval (34, NetFlow v9 style) and
    samplingPacketInterval (305) plus samplingPacketSpace (306) in PSAMP
    style, where the interval is (interval + space) / interval.  Returns the
    sorted set of intervals found.
    """
    templates, found = {}, set()
    for data in datagrams:
        msg = parse_message(data)
        for s in msg.sets:
            if s.kind in ("template", "options"):
                for t in parse_templates(msg.version, s):
                    templates[(msg.domain, t.template_id)] = t
            elif s.kind == "data" and (msg.domain, s.set_id) in templates:
                for r in decode_records(templates[(msg.domain, s.set_id)], s.body):
                    if r.get(SAMPLING_INTERVAL):
                        found.add(r[SAMPLING_INTERVAL])
                    elif r.get(SAMPLING_PACKET_INTERVAL):
                        taken = r[SAMPLING_PACKET_INTERVAL]
                        found.add((taken + r.get(SAMPLING_PACKET_SPACE, 0)) // taken)
    return sorted(found)
