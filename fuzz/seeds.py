"""Seed inputs for the frame-level fuzz targets, cut from the corpus captures.

frame: one byte naming the link type (index into the target's table), then the frame.
tcp_options: the option bytes of each TCP header found in Ethernet frames.
tracker: each capture's IPv4 TCP segments as the program harness/tracker.rs reads
(its connections mapped onto the harness's 32 flows, real numbers, flags and options).
renderers: the tracker seeds, read as records.
"""
import os
import struct
import sys

LINKTYPES = [1, 113, 276, 101, 228, 229, 0, 108, 9, 129, 12]


def frames(path, with_time=False):
    data = open(path, "rb").read()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        return  # pcapng files seed the capture_file target
    lt = struct.unpack(end + "I", data[20:24])[0] & 0x03FFFFFF
    off = 24
    while off + 16 <= len(data):
        sec, frac, caplen = struct.unpack(end + "III", data[off : off + 12])
        body = data[off + 16 : off + 16 + caplen]
        off += 16 + caplen
        if with_time:
            yield lt, body, sec * 1_000_000 + frac // (1000 if magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d") else 1)
        else:
            yield lt, body


def time_step(dt_us):
    """The harness's time byte closest to a step of dt_us microseconds."""
    if dt_us <= 0:
        return 0
    for exp in range(8):
        mant = dt_us >> (3 * exp)
        if mant < 16:
            return (exp << 4) | mant
    return 0x7F


def tracker_program(path):
    header = bytes([0x03, 10, 100, 20, 255, 255, 100])
    segs = []
    flows = {}
    last = None
    for lt, body, ts_us in frames(path, with_time=True):
        ip = body[14:] if lt == 1 and body[12:14] == b"\x08\x00" else body if lt in (101, 228) else None
        if ip is None or len(ip) < 40 or ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        ihl = (ip[0] & 15) * 4
        t = ip[ihl:]
        if len(t) < 20:
            continue
        src, dst = ip[12:16], ip[16:20]
        sport, dport, seq, ack = struct.unpack("!HHII", t[:12])
        a, b = (src, sport), (dst, dport)
        key = (a, b) if (a, b) in flows or (b, a) not in flows else (b, a)
        flow = flows.setdefault(key, len(flows) % 32)
        from_client = key[0] == a
        doff = (t[12] >> 4) * 4
        opts = t[20:doff][:40]
        total = struct.unpack("!H", ip[2:4])[0]
        payload = max(0, min(63, total - ihl - doff))
        step = time_step(ts_us - last) if last is not None else 0
        last = ts_us
        pick = flow | (0 if from_client else 0x20)
        segs.append(struct.pack("!BBBIIBBB", t[13], pick, payload << 2, seq, ack, step, t[14], len(opts)) + opts)
        if len(segs) >= 300:
            break
    return header + b"".join(segs) if segs else None


def main(target, captures, out):
    n = 0
    if target in ("tracker", "renderers"):
        for name in sorted(os.listdir(captures)):
            blob = tracker_program(os.path.join(captures, name))
            if blob:
                open(os.path.join(out, name), "wb").write(blob)
        return
    for name in sorted(os.listdir(captures)):
        for lt, body in frames(os.path.join(captures, name)):
            if target == "frame":
                if lt not in LINKTYPES:
                    continue
                blob = bytes([LINKTYPES.index(lt)]) + body
            elif target == "tcp_options":
                if lt != 1 or len(body) < 14 + 20 + 20 or body[12:14] != b"\x08\x00":
                    continue
                ihl = (body[14] & 15) * 4
                tcp = body[14 + ihl :]
                if body[23] != 6 or len(tcp) < 20:
                    continue
                doff = (tcp[12] >> 4) * 4
                blob = tcp[20:doff]
                if not blob:
                    continue
            else:
                raise SystemExit("no seeds for " + target)
            open(os.path.join(out, "%s-%d" % (name, n)), "wb").write(blob)
            n += 1
            if n >= 3000:
                return


if __name__ == "__main__":
    main(*sys.argv[1:])
