"""Seed inputs for the frame-level fuzz targets, cut from the corpus captures.

frame: one byte naming the link type (index into the target's table), then the frame.
tcp_options: the option bytes of each TCP header found in Ethernet frames.
"""
import os
import struct
import sys

LINKTYPES = [1, 113, 276, 101, 228, 229, 0, 108, 9, 129, 12]


def frames(path):
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
        caplen = struct.unpack(end + "I", data[off + 8 : off + 12])[0]
        body = data[off + 16 : off + 16 + caplen]
        off += 16 + caplen
        yield lt, body


def main(target, captures, out):
    n = 0
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
