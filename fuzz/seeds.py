#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, made at run time (never committed)
from the project's samples/ and small slices of ../shared/pcaps.

    python3 fuzz/seeds.py OUT_DIR [SHARED_PCAPS_DIR]
"""
import os
import struct
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def frames(path):
    """(ts_ns, link, data) of a classic pcap; [] for anything else."""
    with open(path, "rb") as f:
        b = f.read()
    if len(b) < 24:
        return []
    magic = struct.unpack("<I", b[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        e = "<"
    elif struct.unpack(">I", b[:4])[0] in (0xA1B2C3D4, 0xA1B23C4D):
        e = ">"
    else:
        return []
    nano = struct.unpack(e + "I", b[:4])[0] == 0xA1B23C4D
    link = struct.unpack(e + "I", b[20:24])[0]
    out, off = [], 24
    while off + 16 <= len(b):
        sec, frac, incl, _ = struct.unpack(e + "IIII", b[off:off + 16])
        off += 16
        data = b[off:off + incl]
        off += incl
        out.append((sec * 10**9 + (frac if nano else frac * 1000), link, data))
    return out


def write(d, name, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def helper_stream(fs, names):
    """A capture helper's record stream (capture/src/privsep/framing.rs):
    hello, the frames, stats, end."""
    def rec(kind, body):
        return struct.pack("<B3xI", kind, len(body)) + body
    hello = b"OSPRYCAP" + struct.pack("<HH", 1, len(names))
    for name in names:
        hello += struct.pack("<IIH", 1, 262144, len(name)) + name
    out = rec(1, hello)
    for i, (ts, _, data) in enumerate(fs):
        out += rec(2, struct.pack("<IqII", i % len(names), ts, len(data), len(data)) + data)
    for i in range(len(names)):
        out += rec(3, struct.pack("<I6Q", i, len(fs), 1000, 0, len(fs), 0, 0))
    return out + rec(4, b"interface went down") + rec(5, b"")


def main():
    out = sys.argv[1]
    shared = sys.argv[2] if len(sys.argv) > 2 else os.path.join(REPO, "..", "shared", "pcaps")
    samples = []
    for sub in ("samples", "samples/attacks"):
        d = os.path.join(REPO, sub)
        samples += [os.path.join(d, n) for n in sorted(os.listdir(d)) if n.endswith((".pcap", ".pcapng"))]
    links = [0, 1, 12, 101, 113, 228, 229, 276]
    n = 0
    for path in samples:
        base = os.path.basename(path)
        with open(path, "rb") as f:
            whole = f.read()
        # whole small captures for the file reader and the engine
        if len(whole) <= 64 * 1024:
            write(f"{out}/capture_file", base, whole)
            write(f"{out}/pipeline", base, whole)
        fs = frames(path)
        for i, (ts, link, data) in enumerate(fs[:40]):
            sel = links.index(link) if link in links else 1
            write(f"{out}/decode", f"{base}-{i}", bytes([sel]) + data)
            # TCP/UDP payload over Ethernet + IPv4 (inspectors, parsers)
            if link == 1 and len(data) > 54 and data[12:14] == b"\x08\x00":
                ihl = (data[14] & 15) * 4
                proto = data[23]
                l4 = 14 + ihl
                if proto == 6 and len(data) > l4 + 20:
                    payload = data[l4 + ((data[l4 + 12] >> 4) * 4):]
                elif proto == 17:
                    payload = data[l4 + 8:]
                else:
                    payload = b""
                if payload:
                    write(f"{out}/detect_content", f"{base}-{i}", payload[:2048])
                    sel2 = (i * 7 + n) % 64  # a parser per payload, spread over all
                    hdr = bytes([min(len(payload[:504]) // 8, 63)])
                    write(f"{out}/app_parsers", f"{base}-{i}",
                          bytes([sel2]) + hdr + payload[:504])
            n += 1
        # frame trains: raw IP with 2-byte length prefixes (defrag), and
        # timestamped frames (export round trip)
        train, rt = b"", b""
        for ts, link, data in fs[:64]:
            ip = data[14:] if link == 1 else data
            train += struct.pack("<H", len(ip)) + ip
            rt += struct.pack("<qH", ts, len(data)) + data
        if fs:
            # the first byte: how many chunk sizes follow (1 + b % 8)
            write(f"{out}/capture_framing", base,
                  bytes([3, 200, 7, 64]) + helper_stream(fs[:16], [b"veth0", b"eth1"]))
            write(f"{out}/defrag", base, train[:64 * 1024])
            write(f"{out}/export_roundtrip", base, rt[:64 * 1024])
    # small slices of the shared corpus: the first 16 KiB of a few captures
    if os.path.isdir(shared):
        names = sorted(x for x in os.listdir(shared) if x.endswith((".pcap", ".pcapng")))
        for name in names[::max(1, len(names) // 24)][:24]:
            with open(os.path.join(shared, name), "rb") as f:
                head = f.read(16 * 1024)
            write(f"{out}/capture_file", "shared-" + name, head)
    write(f"{out}/rules", "default.toml",
          open(os.path.join(REPO, "assets", "rules", "default.toml"), "rb").read())
    for i, expr in enumerate([
        "ip.addr == 10.244.0.5 && app == http && bytes > 1000",
        "!(tcp.port == 443 || udp.port == 53) && packets >= 3",
        "app contains \"ht\" && severity <= 2",
    ]):
        write(f"{out}/filter", f"expr-{i}", expr.encode())
    write(f"{out}/tcp_reasm", "seed", bytes([2, 0, 0, 8]) + b"GET / HT" + bytes([2, 8, 0, 4]) + b"TP/1")
    print(f"seeds from {len(samples)} samples, {n} frames -> {out}")


if __name__ == "__main__":
    main()
