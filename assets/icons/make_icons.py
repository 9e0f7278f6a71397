#!/usr/bin/env python3
"""Draws Osprey's GUI icons as 48x48 white-on-transparent PNGs (tinted by
the theme at run time). Standard library only: each icon is a few shapes
(discs, rings, strokes, polygons) rendered with 4x4 supersampling.

Rerun after a change: python3 assets/icons/make_icons.py
"""
import math
import os
import struct
import zlib

SIZE = 48
SS = 4  # supersamples per axis


def disc(cx, cy, r):
    return lambda x, y: (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def ring(cx, cy, r, w):
    return lambda x, y: abs(math.hypot(x - cx, y - cy) - r) <= w / 2


def ellipse_ring(cx, cy, rx, ry, w):
    def f(x, y):
        # Distance to an ellipse, first order: |F| / |grad F|.
        dx, dy = x - cx, y - cy
        v = (dx / rx) ** 2 + (dy / ry) ** 2 - 1
        g = math.hypot(2 * dx / rx ** 2, 2 * dy / ry ** 2) or 1e-9
        return abs(v / g) <= w / 2
    return f


def seg(ax, ay, bx, by, w):
    def f(x, y):
        px, py, dx, dy = x - ax, y - ay, bx - ax, by - ay
        t = max(0.0, min(1.0, (px * dx + py * dy) / (dx * dx + dy * dy)))
        return math.hypot(px - t * dx, py - t * dy) <= w / 2
    return f


def poly(pts):
    def f(x, y):
        inside = False
        j = len(pts) - 1
        for i in range(len(pts)):
            (xi, yi), (xj, yj) = pts[i], pts[j]
            if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
                inside = not inside
            j = i
        return inside
    return f


def outline(pts, w):
    parts = [seg(*pts[i], *pts[(i + 1) % len(pts)], w) for i in range(len(pts))]
    return lambda x, y: any(p(x, y) for p in parts)


def rect(x0, y0, x1, y1):
    return lambda x, y: x0 <= x <= x1 and y0 <= y <= y1


def union(*fs):
    return lambda x, y: any(f(x, y) for f in fs)


def minus(a, *bs):
    return lambda x, y: a(x, y) and not any(b(x, y) for b in bs)


def hexagon(cx, cy, r):
    return [(cx + r * math.cos(math.pi / 6 + k * math.pi / 3),
             cy + r * math.sin(math.pi / 6 + k * math.pi / 3)) for k in range(6)]


W = 3.2  # stroke width
ICONS = {
    # A pod: hexagon with a small cube-like dot.
    "pod": union(outline(hexagon(24, 24, 18), W), poly(hexagon(24, 24, 7))),
    # An address inside the cluster: a rounded box with two status lines.
    "internal": union(outline([(8, 11), (40, 11), (40, 37), (8, 37)], W),
                      seg(14, 20, 34, 20, W), seg(14, 28, 26, 28, W)),
    # The outside world: a globe.
    "external": union(ring(24, 24, 17, W), ellipse_ring(24, 24, 7.5, 17, W * 0.9),
                      seg(8, 24, 40, 24, W * 0.9)),
    # An alert: a triangle with an exclamation mark cut out.
    "alert": minus(poly([(24, 5), (44, 41), (4, 41)]),
                   seg(24, 17, 24, 29, W + 0.6), disc(24, 35, 2.4)),
    # Open: a folder.
    "open": union(outline([(6, 13), (19, 13), (23, 17), (42, 17), (42, 38), (6, 38)], W)),
    # Live capture: a record dot in a ring.
    "live": union(disc(24, 24, 8), ring(24, 24, 17, W)),
    # Stop: a square.
    "stop": rect(13, 13, 35, 35),
    # Pause: two bars.
    "pause": union(rect(13, 11, 20, 37), rect(28, 11, 35, 37)),
    # Fit the graph: four corners.
    "fit": union(*[seg(*a, *b, W) for a, b in [
        ((7, 7), (17, 7)), ((7, 7), (7, 17)), ((41, 7), (31, 7)), ((41, 7), (41, 17)),
        ((7, 41), (17, 41)), ((7, 41), (7, 31)), ((41, 41), (31, 41)), ((41, 41), (41, 31))]]),
    # Save a picture: an arrow down into a tray.
    "save": union(seg(24, 7, 24, 28, W), seg(15, 20, 24, 29, W), seg(33, 20, 24, 29, W),
                  seg(8, 30, 8, 40, W), seg(8, 40, 40, 40, W), seg(40, 40, 40, 30, W)),
    # Theme: a half-filled circle.
    "theme": union(ring(24, 24, 16, W), minus(disc(24, 24, 16), rect(24, 0, 48, 48))),
}


def render(shape):
    rows = []
    for py in range(SIZE):
        row = bytearray([0])  # PNG filter: none
        for px in range(SIZE):
            hits = sum(shape(px + (sx + 0.5) / SS, py + (sy + 0.5) / SS)
                       for sx in range(SS) for sy in range(SS))
            row += bytes([255, 255, 255, round(255 * hits / (SS * SS))])
        rows.append(bytes(row))
    return b"".join(rows)


def png(raw):
    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    for name, shape in ICONS.items():
        with open(os.path.join(here, name + ".png"), "wb") as f:
            f.write(png(render(shape)))
        print(name)
