#!/usr/bin/env python3
"""Draws relaywatch's app icon and tray-state icons as PNGs (stdlib only: zlib + struct).

Tray states differ by SHAPE as well as colour, so they read in greyscale and for colour-blind
users: ok = filled circle, warning = triangle with "!", alert = octagon with "!", paused = two
bars, offline = hollow circle crossed out, stale = clock face.

Usage: python3 icons/make_icons.py   (writes the PNGs beside this script)
"""
import math
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SS = 4  # supersampling per axis, for smooth edges


def png(path, w, h, pixels):
    """pixels: list of rows of (r, g, b, a) tuples."""
    raw = b"".join(b"\x00" + b"".join(struct.pack("BBBB", *p) for p in row) for row in pixels)

    def chunk(tag, data):
        c = struct.pack(">I", len(data)) + tag + data
        return c + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0))
    data += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


def inside_poly(x, y, pts):
    n, c = len(pts), False
    j = n - 1
    for i in range(n):
        xi, yi = pts[i]
        xj, yj = pts[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            c = not c
        j = i
    return c


def seg_dist(px, py, ax, ay, bx, by):
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def render(size, layers):
    """layers: list of (colour, test(x, y) -> bool) in unit coordinates (0..1), painted in order."""
    rows = []
    for j in range(size):
        row = []
        for i in range(size):
            acc = [0.0, 0.0, 0.0, 0.0]
            for sj in range(SS):
                for si in range(SS):
                    x = (i + (si + 0.5) / SS) / size
                    y = (j + (sj + 0.5) / SS) / size
                    col = None
                    for c, test in layers:
                        if test(x, y):
                            col = c
                    if col is not None:
                        a = col[3] / 255.0
                        acc[0] += col[0] * a
                        acc[1] += col[1] * a
                        acc[2] += col[2] * a
                        acc[3] += a
            n = SS * SS
            a = acc[3] / n
            if a > 0:
                row.append((round(acc[0] / acc[3]), round(acc[1] / acc[3]), round(acc[2] / acc[3]), round(a * 255)))
            else:
                row.append((0, 0, 0, 0))
        rows.append(row)
    return rows


GREEN = (34, 160, 84, 255)
AMBER = (232, 160, 20, 255)
RED = (210, 40, 40, 255)
BLUE = (70, 110, 190, 255)
GREY = (120, 120, 128, 255)
PURPLE = (130, 90, 170, 255)
WHITE = (255, 255, 255, 255)
DARK = (30, 30, 36, 255)
NAVY = (24, 34, 56, 255)


def circle(cx, cy, r):
    return lambda x, y: (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def ring(cx, cy, r, w):
    return lambda x, y: abs(math.hypot(x - cx, y - cy) - r) <= w / 2


def rect(x0, y0, x1, y1):
    return lambda x, y: x0 <= x <= x1 and y0 <= y <= y1


def line(ax, ay, bx, by, w):
    return lambda x, y: seg_dist(x, y, ax, ay, bx, by) <= w / 2


def poly(pts):
    return lambda x, y: inside_poly(x, y, pts)


def rounded_square(m, r):
    def t(x, y):
        if not (m <= x <= 1 - m and m <= y <= 1 - m):
            return False
        cx = min(max(x, m + r), 1 - m - r)
        cy = min(max(y, m + r), 1 - m - r)
        return (x - cx) ** 2 + (y - cy) ** 2 <= r * r

    return t


def octagon(cx, cy, r):
    return poly([(cx + r * math.cos(math.pi / 8 + k * math.pi / 4), cy + r * math.sin(math.pi / 8 + k * math.pi / 4)) for k in range(8)])


STATES = {
    "ok": [(GREEN, circle(0.5, 0.5, 0.42))],
    "warning": [
        (AMBER, poly([(0.5, 0.06), (0.96, 0.9), (0.04, 0.9)])),
        (DARK, rect(0.445, 0.34, 0.555, 0.64)),
        (DARK, rect(0.445, 0.71, 0.555, 0.8)),
    ],
    "alert": [
        (RED, octagon(0.5, 0.5, 0.46)),
        (WHITE, rect(0.43, 0.2, 0.57, 0.6)),
        (WHITE, rect(0.43, 0.68, 0.57, 0.8)),
    ],
    "paused": [
        (BLUE, rect(0.2, 0.14, 0.4, 0.86)),
        (BLUE, rect(0.6, 0.14, 0.8, 0.86)),
    ],
    "offline": [
        (GREY, ring(0.5, 0.5, 0.36, 0.12)),
        (GREY, line(0.245, 0.245, 0.755, 0.755, 0.12)),
    ],
    "stale": [
        (PURPLE, ring(0.5, 0.5, 0.38, 0.11)),
        (PURPLE, line(0.5, 0.5, 0.5, 0.24, 0.1)),
        (PURPLE, line(0.5, 0.5, 0.7, 0.6, 0.1)),
    ],
}

APP = [
    (NAVY, rounded_square(0.04, 0.2)),
    (WHITE, ring(0.5, 0.5, 0.28, 0.07)),
    (WHITE, line(0.5, 0.5, 0.5, 0.3, 0.07)),
    (GREEN, circle(0.5, 0.5, 0.09)),
    (AMBER, circle(0.76, 0.26, 0.08)),
]


def main():
    for name, layers in STATES.items():
        png(os.path.join(HERE, f"tray-{name}.png"), 64, 64, render(64, layers))
    for size, name in [(32, "32x32.png"), (128, "128x128.png"), (256, "icon.png")]:
        png(os.path.join(HERE, name), size, size, render(size, APP))


if __name__ == "__main__":
    main()
