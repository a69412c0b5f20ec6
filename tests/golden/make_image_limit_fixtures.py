#!/usr/bin/python3
"""Crafted images for the size/animation limits of the image loader (tests/test_datasets.c,
tests/test_bounded.sh), written with the standard library only (zlib, struct):

  images/still.gif      anim.gif cut after its first frame (single-frame GIF, same pixels)
  images/huge.png       a PNG header claiming 16000x16000 (+ a tiny IDAT): refused by header
  images/apng.png       a valid 2x1 RGB PNG with an acTL chunk (2 frames): animated
  images/bomb.gif       70 bytes claiming a 65535x65535 screen (stb allocated 2.3 GB on such)
  images/wide.bmp       a BMP header claiming 70000x1 (over max_image_side)

Run: /usr/bin/python3 tests/golden/make_image_limit_fixtures.py
     /usr/bin/python3 tests/golden/make_image_limit_fixtures.py --real-huge OUT.png
       (a genuine, fully valid 16000x16000 RGB PNG of ~750 KB that decodes to 768 MB)
"""
import os
import struct
import sys
import zlib

D = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "datasets", "images")


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(w, h, idat, extra=b""):
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)   # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


def real_huge(path, side=16000):
    comp = zlib.compressobj(9)
    row = b"\x00" + b"\x00" * (3 * side)
    with open(path, "wb") as f:
        parts = [comp.compress(row) for _ in range(side)]
        f.write(png(side, side, b"".join(parts) + comp.flush()))


def gif_first_frame(data):
    """anim.gif up to the end of its first image's data, then the trailer."""
    off = 13
    if data[10] & 0x80:
        off += 3 << ((data[10] & 7) + 1)

    def skip_blocks(o):
        while data[o]:
            o += 1 + data[o]
        return o + 1
    while True:
        b = data[off]
        if b == 0x21:
            off = skip_blocks(off + 2)
        elif b == 0x2C:
            fl = data[off + 9]
            off += 10
            if fl & 0x80:
                off += 3 << ((fl & 7) + 1)
            off = skip_blocks(off + 1)
            return data[:off] + b"\x3b"
        else:
            raise ValueError("unexpected GIF block %#x" % b)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--real-huge":
        real_huge(sys.argv[2])
        return
    with open(os.path.join(D, "anim.gif"), "rb") as f:
        anim = f.read()
    out = {
        "still.gif": gif_first_frame(anim),
        "huge.png": png(16000, 16000, zlib.compress(b"\x00" * 64)),
        "apng.png": png(2, 1, zlib.compress(b"\x00" + b"\xff\x00\x00" + b"\x00\xff\x00"),
                        chunk(b"acTL", struct.pack(">II", 2, 0))),
    }
    # GIF89a, screen 65535x65535, no colour table, one 1x1 image, minimal LZW data
    bomb = (b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0, 0, 0)
            + b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00\x3b")
    out["bomb.gif"] = bomb.ljust(70, b"\x00")
    bmp = bytearray(b"BM" + struct.pack("<IHHI", 54 + 4, 0, 0, 54)
                    + struct.pack("<IiiHHIIiiII", 40, 70000, 1, 1, 24, 0, 4, 0, 0, 0, 0) + b"\0" * 4)
    out["wide.bmp"] = bytes(bmp)
    for name, data in out.items():
        with open(os.path.join(D, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
