"""Hostile inputs for every fuzz target, written to regressions/TARGET/hostile-*.

They are built on purpose from the damage captures meet in the wild (see the
robustness issue): cut and lying capture files, headers that point outside the
packet, option soups, extension-header chains, tag towers, floods and storms.
tests/fuzz_regressions.rs replays them through the targets' harnesses with
the fuzzers' crashes, and fuzz/run.sh adds them to each target's corpus.

usage: python3 hostile.py   (from fuzz/; rewrites the hostile-* files)
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, "regressions", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "hostile-" + name), "wb") as f:
        f.write(data)


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def tcp(flags=0x02, seq=1000, ack=0, opts=b"", payload=b"", doff=None, sport=40000, dport=80):
    opts = opts + b"\x01" * (-len(opts) % 4)
    d = doff if doff is not None else (20 + len(opts)) // 4
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, d << 4, flags, 65535, 0, 0) + opts + payload


def ipv4(body, ihl=5, total=None, proto=6, frag=0x4000):
    opts = b"\x01" * (ihl * 4 - 20) if ihl > 5 else b""
    total = total if total is not None else 20 + len(opts) + len(body)
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total, 1, frag, 64, proto, 0,
                    bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + opts + body


def ipv6(chain, first=6):
    src = bytes([0x20, 1, 0xD, 0xB8] + [0] * 11 + [1])
    dst = src[:-1] + b"\x02"
    return struct.pack("!IHBB", 0x60000000, len(chain), first, 64) + src + dst + chain


def ether(t, body):
    return b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb" + struct.pack("!H", t) + body


# -- capture_file: whole files ---------------------------------------------

def pcap_header(snaplen=65535, linktype=1, magic=0xA1B2C3D4):
    return struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)


def record(data, caplen=None, wire=None, sec=1_700_000_000, usec=0):
    caplen = len(data) if caplen is None else caplen
    wire = len(data) if wire is None else wire
    return struct.pack("<IIII", sec, usec, caplen, wire) + data


SYN = ether(0x0800, ipv4(tcp(opts=b"\x02\x04\x05\xb4")))


def ng_block(kind, body, total=None):
    body = body + b"\0" * (-len(body) % 4)
    total = 12 + len(body) if total is None else total
    return struct.pack("<II", kind, total) + body + struct.pack("<I", total)


def shb():
    return ng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))


def idb(linktype=1, opts=b""):
    return ng_block(1, struct.pack("<HHI", linktype, 0, 65535) + opts)


def ng_option(code, value):
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def epb(data, iface=0, ts=0, caplen=None, wire=None):
    caplen = len(data) if caplen is None else caplen
    wire = len(data) if wire is None else wire
    return ng_block(6, struct.pack("<IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, caplen, wire) + data)


def capture_files():
    good = pcap_header() + record(SYN)
    files = {
        "empty": b"",
        "wrong-magic": b"\x00\x01\x02\x03" + good[4:],
        "truncated-global-header": good[:10],
        "truncated-record-header": good + record(SYN)[:9],
        "record-cut-short": good + record(SYN)[:30],
        "caplen-beyond-snaplen": pcap_header(snaplen=40) + record(SYN),
        "caplen-beyond-original-length": pcap_header() + record(SYN, wire=10),
        "caplen-of-4-gb": good + record(SYN, caplen=0xFFFFFFF0),
        "zero-length-records": pcap_header() + record(b"") * 50 + record(SYN),
        "snaplen-zero-and-huge-caplen": pcap_header(snaplen=0) + record(SYN, caplen=300_000),
        "nanosecond-fraction-out-of-range": pcap_header(magic=0xA1B23C4D)
        + record(SYN, sec=0xFFFFFFFF, usec=0xFFFFFFFF),
        "unknown-link-type": pcap_header(linktype=9999) + record(SYN),
        "pcapng-bad-block-length-13": shb() + idb() + struct.pack("<II", 6, 13) + b"\0" * 9,
        "pcapng-bad-block-length-8": shb() + idb() + struct.pack("<II", 6, 8),
        "pcapng-block-length-4-gb": shb() + idb() + struct.pack("<II", 6, 0xFFFFFFFC) + b"\0" * 64,
        "pcapng-trailing-length-differs": shb() + idb() + epb(SYN)[:-4] + b"\x99\0\0\0",
        "pcapng-missing-section-header": idb() + epb(SYN),
        "pcapng-packet-before-interface": shb() + epb(SYN),
        "pcapng-unknown-link-type": shb() + idb(linktype=60000) + epb(SYN),
        "pcapng-interface-id-out-of-range": shb() + idb() + epb(SYN) + epb(SYN, iface=7),
        "pcapng-caplen-beyond-block": shb() + idb() + epb(SYN, caplen=4000),
        "pcapng-time-offset-at-the-end-of-the-clock": shb()
        + idb(opts=ng_option(14, struct.pack("<q", 2**63 - 1)) + ng_option(0, b""))
        + epb(SYN, ts=2**64 - 1),
        "pcapng-negative-time-offset": shb()
        + idb(opts=ng_option(14, struct.pack("<q", -(2**63))) + ng_option(0, b""))
        + epb(SYN, ts=5),
        "pcapng-time-resolution-2-to-the-127": shb()
        + idb(opts=ng_option(9, b"\xff") + ng_option(0, b""))
        + epb(SYN, ts=2**64 - 1),
        "pcapng-time-resolution-10-to-the-19": shb()
        + idb(opts=ng_option(9, b"\x13") + ng_option(0, b""))
        + epb(SYN, ts=2**64 - 1),
        "pcapng-option-longer-than-block": shb() + idb(opts=struct.pack("<HH", 2, 0xFFFF)) + epb(SYN),
        "pcapng-bad-byte-order-magic": ng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x12345678, 1, 0, -1)),
        "pcapng-many-interfaces": shb() + idb() * 2000 + epb(SYN, iface=1999),
        "pcapng-sections-without-interfaces": (shb() + idb() + epb(SYN)) + shb() + epb(SYN),
    }
    for name, data in files.items():
        write("capture_file", name, data)


# -- frame: a link-type selector byte, then the frame ----------------------

LINK = {1: 0, 113: 1, 276: 2, 101: 3, 228: 4, 229: 5, 0: 6, 108: 7, 9: 8, 129: 9, 12: 10}


def frames():
    rst_bytes = bytes(range(256))
    soup = bytes([2, 4, 5, 0xB4, 0, 1, 30, 0, 8, 1, 5, 3, 34, 1, 254, 2, 19, 18]) + b"\x01" * 22
    cases = {
        "ip-header-length-below-20": ipv4(tcp(), ihl=3),
        "ip-total-length-beyond-caplen": ipv4(tcp(), total=1500),
        "ip-total-length-below-header": ipv4(tcp(), total=12),
        "tcp-data-offset-below-5": ipv4(tcp(doff=2)),
        "tcp-data-offset-beyond-segment": ipv4(tcp(doff=15)),
        "tcp-option-length-0": ipv4(tcp(opts=b"\x02\x00\x05\xb4")),
        "tcp-option-length-1": ipv4(tcp(opts=b"\x08\x01\x00\x00")),
        "tcp-option-length-beyond-header": ipv4(tcp(opts=b"\x05\x28\x00\x00")),
        "tcp-60-byte-option-soup": ipv4(tcp(opts=soup)),
        "rst-data-every-byte": ipv4(tcp(flags=0x04, payload=rst_bytes[:128])),
        "rst-data-high-bytes": ipv4(tcp(flags=0x14, payload=rst_bytes[128:])),
        "resp-every-byte": ipv4(tcp(flags=0x18, dport=6379, payload=b"+" + rst_bytes + b"\r\n")),
        "resp-bulk-string-every-byte": ipv4(
            tcp(flags=0x18, dport=6379, payload=b"$256\r\n" + rst_bytes + b"\r\n")),
        "ipv4-fragment-with-tcp-header-cut": ipv4(tcp()[:10], frag=0x2000),
        "ipv4-in-ipv4": ipv4(ipv4(tcp()), proto=4),
        "ipv6-in-ipv4": ipv4(ipv6(tcp()), proto=41),
    }
    # IPv6 chains: many hop-by-hop/destination options headers, a routing
    # header loop, a fragment header chain.
    def ext_chain(kinds, last=6):
        out = b""
        for i, k in enumerate(kinds):
            nxt = kinds[i + 1] if i + 1 < len(kinds) else last
            out += bytes([nxt, 0]) + b"\x01\x04\0\0\0\0"[:6]
        return out
    cases["ipv6-extension-chain-of-200"] = ipv6(ext_chain([60] * 200) + tcp(), first=60)
    cases["ipv6-hop-by-hop-repeated"] = ipv6(ext_chain([0, 0, 0, 0]) + tcp(), first=0)
    cases["ipv6-routing-headers-in-a-loop"] = ipv6(ext_chain([43] * 64, last=43), first=43)
    cases["ipv6-fragment-headers-chain"] = ipv6((b"\x2c\0\0\0\0\0\0\x01") * 40 + tcp(), first=44)
    cases["ipv6-payload-length-beyond-caplen"] = ipv6(tcp())[:4] + b"\xff\xff" + ipv6(tcp())[6:]
    blobs = {}
    for name, ip in cases.items():
        blobs["raw-" + name] = bytes([LINK[101]]) + ip
        blobs["ether-" + name] = bytes([LINK[1] | 0x30]) + ether(0x86DD if ip[0] >> 4 == 6 else 0x0800, ip)
    tags = b"".join(struct.pack("!HH", 0x8100 if i % 2 else 0x88A8, i) for i in range(300))
    blobs["ether-vlan-tower-of-300"] = bytes([LINK[1]]) + ether(0x88A8, tags[2:] + b"\x08\x00" + ipv4(tcp()))
    blobs["ether-vlan-tower-cut"] = bytes([LINK[1]]) + ether(0x8100, tags[2:401])
    snap = b"\xaa\xaa\x03\0\0\0\x08\x00" + ipv4(tcp())
    blobs["ether-llc-snap-length-lies"] = bytes([LINK[1]]) + ether(1500, snap)
    sll2 = struct.pack("!HHIHHBB8s", 0x8100, 0, 0xFFFFFFFF, 1, 4, 6, 0, b"\0" * 8)
    blobs["sll2-vlan-and-huge-interface-index"] = bytes([LINK[276]]) + sll2 + struct.pack("!HH", 5, 0x0800) + ipv4(tcp())
    blobs["null-family-unknown"] = bytes([LINK[0]]) + b"\xff\xff\xff\xff" + ipv4(tcp())
    blobs["ppp-protocol-compressed"] = bytes([LINK[9]]) + b"\x21" + ipv4(tcp())
    blobs["arcnet-short"] = bytes([LINK[129]]) + b"\x01\x02\xd4"
    for name, data in blobs.items():
        write("frame", name, data)


# -- tcp_options: option bytes ---------------------------------------------

def tcp_options():
    cases = {
        "length-0": b"\x02\x00\x05\xb4",
        "length-1": b"\x08\x01" + b"\0" * 8,
        "length-beyond-header": b"\x05\xff\x00\x00",
        "sack-odd-length": b"\x05\x07" + b"\xff" * 5,
        "forty-nops": b"\x01" * 40,
        "eol-then-junk": b"\x00" + bytes(range(1, 40)),
        "mptcp-length-2": b"\x1e\x02" + b"\x1e\x03\xff",
        "tfo-length-1": b"\x22\x01",
        "experiment-length-2": b"\xfe\x02\xfe\x03\xf9",
        "md5-cut": b"\x13\x12" + b"\xaa" * 4,
        "every-kind": bytes(k for i in range(20) for k in (i, 2)),
        "soup": bytes([2, 4, 5, 0xB4, 0, 1, 30, 0, 8, 1, 5, 3, 34, 1, 254, 2, 19, 18]) + b"\x01" * 22,
    }
    for name, data in cases.items():
        write("tcp_options", name, data)


# -- tracker: the program of fuzz/harness/tracker.rs ------------------------

def segment(flags, flow, from_client=True, seq_mode=0, ack_mode=0, seq=0, ack=0,
            payload=0, time=0x01, window=0xFF, shape=0):
    pick = (flow & 0x1F) | (0 if from_client else 0x20) | (seq_mode << 6)
    modes = (ack_mode & 3) | (payload << 2)
    return struct.pack("!BBBIIBBB", flags, pick, modes, seq, ack, time, window, shape)


def header(limits=0x00, window=1, flood=1, scan=1, handshake=40, idle=50, linger=10):
    return bytes([limits, window, flood, scan, handshake, idle, linger])


def handshake(flow, isn):
    return (segment(0x02, flow, seq=isn)
            + segment(0x12, flow, False, seq=isn * 7, ack_mode=1)
            + segment(0x10, flow, seq_mode=1, seq=1, ack_mode=1)
            + segment(0x18, flow, seq_mode=1, ack_mode=1, payload=20))


def tracker():
    programs = {
        "syn-flood-random-tuples": header(0x03) + b"".join(
            segment(0x02, f % 32, seq=(f * 2654435761) & 0xFFFFFFFF, time=0x00) for f in range(600)),
        "rst-storm": header(0x01) + handshake(1, 5000) + b"".join(
            segment(0x04 | (0x10 if i % 2 else 0), 1, i % 3 == 0, seq=i * 99991, ack=i, time=0x00)
            for i in range(400)) + segment(0x11, 1, seq_mode=1, ack_mode=1),
        "isn-collisions": header(0x02) + b"".join(
            segment(0x02, f, seq=12345) + segment(0x12, f, False, seq=12345, ack_mode=1)
            for f in range(32)) * 4,
        "time-going-backwards": header(0x11) + b"".join(
            handshake(f, 1000 + f) + segment(0x10, f, time=0xF7) for f in range(16)),
        "duplicate-time-stamps": header(0x00) + b"".join(
            segment(0x02, f % 8, seq=f, time=0x00) + segment(0x12, f % 8, False, seq=f, ack_mode=1, time=0x00)
            for f in range(200)),
        "port-reuse-and-challenge-acks": header(0x1F) + b"".join(
            handshake(3, 100 + i) + segment(0x02, 3, seq=90000 + i) + segment(0x10, 3, False, seq_mode=1, ack_mode=1)
            for i in range(40)),
        "wrapping-sequence-numbers": header(0x02) + b"".join(
            segment(0x02, f, seq_mode=3, seq=f) + segment(0x12, f, False, seq_mode=3, seq=f + 1, ack_mode=1)
            + segment(0x10, f, seq_mode=1, seq=1, ack_mode=1) + segment(0x18, f, seq_mode=1, ack_mode=1, payload=63)
            for f in range(32)),
        "damaged-segments-among-a-handshake": header(0x00) + handshake(9, 777) + b"".join(
            segment(0x10, 9, seq_mode=1, ack_mode=1, shape=0x80) + bytes([i, i * 7 & 0xFF, i * 3 & 0xFF])
            for i in range(120)) + segment(0x11, 9, seq_mode=1, ack_mode=1),
        "clock-jumps": header(0x00) + b"".join(
            segment(0x02, f, seq=f, time=0x7F if f % 2 else 0xFF) for f in range(64)),
    }
    for name, data in programs.items():
        write("tracker", name, data)


def renderers():
    import random
    for n in range(6):
        r = random.Random(n)
        write("renderers", "random-record-%d" % n, bytes(r.getrandbits(8) for _ in range(3000)))
    write("renderers", "all-ones", b"\xff" * 3000)
    write("renderers", "all-zero-bits-but-options", b"\x01" * 3000)


if __name__ == "__main__":
    capture_files()
    frames()
    tcp_options()
    tracker()
    renderers()
