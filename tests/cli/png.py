"""PNG pixels for the render tests, in pure Python (zlib), so that PIL is not needed.

read_png(path) -> (width, height, rows of (r, g, b) tuples) of an 8-bit non-interlaced PNG;
coloured(p): a heat-map (viridis) pixel, neither white/grey nor black (text, axes); lum(p).
"""
import struct
import zlib


def read_png(path):
    """(width, height, rows of (r, g, b) tuples) of an 8-bit non-interlaced PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(path + ": not a PNG")
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    if depth != 8 or interlace != 0 or ctype not in (0, 2, 4, 6):
        raise ValueError(f"{path}: unsupported PNG (depth {depth}, colour type {ctype})")
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
        prev = line
        if ctype in (2, 6):
            rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(w)])
        else:
            rows.append([(line[x * bpp],) * 3 for x in range(w)])
    return w, h, rows


def coloured(p):  # a heat-map pixel: neither white/grey nor black (text, axes)
    return max(p) - min(p) > 40


def lum(p):
    return 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]
