"""PNG pictures with the standard library alone (``zlib`` + ``struct``):
the Mandelbrot image in colour and a bar chart of the comparison table.

A PNG of 8-bit RGB pixels is a header chunk, the zlib-compressed rows
(each starting with a filter byte, 0 here) and an end chunk; text is drawn
with the small 5x7 bitmap font below.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

RGB = tuple[int, int, int]

# Colour stops of the map (position 0..1 -> colour): deep blue through
# white to orange, as fractal pictures usually are; points of the set are
# black.
STOPS: list[tuple[float, RGB]] = [
    (0.0, (0, 7, 100)),
    (0.16, (32, 107, 203)),
    (0.42, (237, 255, 255)),
    (0.6425, (255, 170, 0)),
    (0.8575, (120, 40, 0)),
    (1.0, (40, 10, 20)),
]


def colour_map(iters: int) -> list[RGB]:
    """One colour for each escape count 0..iters (``iters``: in the set)."""
    colours = []
    for i in range(iters):
        t = (i / max(iters - 1, 1)) ** 0.5
        for (t0, c0), (t1, c1) in zip(STOPS, STOPS[1:], strict=False):
            if t <= t1:
                f = (t - t0) / (t1 - t0)
                colours.append(tuple(round(a + (b - a) * f) for a, b in zip(c0, c1, strict=True)))
                break
    colours.append((0, 0, 0))
    return colours  # type: ignore[return-value]


def write_rgb_png(path: Path, width: int, height: int, rgb: bytes) -> None:
    """Write ``rgb`` (3 bytes a pixel, rows top to bottom) as a PNG."""
    stride = 3 * width
    rows = b"".join(b"\x00" + rgb[y * stride : (y + 1) * stride] for y in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
    png += chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b"")
    path.write_bytes(png)


def write_fractal_png(path: Path, width: int, height: int, counts: bytes, iters: int) -> None:
    """The image of escape counts ``counts`` (one byte a pixel) in colour."""
    table = b"".join(bytes(c) for c in colour_map(iters))
    lut = [table[3 * i : 3 * i + 3] for i in range(iters + 1)]
    write_rgb_png(path, width, height, b"".join(lut[min(c, iters)] for c in counts))


# 5x7 glyphs, one hex number a row (bit 4 = leftmost column).
FONT = {
    " ": "00 00 00 00 00 00 00",
    "0": "0E 11 13 15 19 11 0E",
    "1": "04 0C 04 04 04 04 0E",
    "2": "0E 11 01 02 04 08 1F",
    "3": "1F 02 04 02 01 11 0E",
    "4": "02 06 0A 12 1F 02 02",
    "5": "1F 10 1E 01 01 11 0E",
    "6": "06 08 10 1E 11 11 0E",
    "7": "1F 01 02 04 08 08 08",
    "8": "0E 11 11 0E 11 11 0E",
    "9": "0E 11 11 0F 01 02 0C",
    "A": "0E 11 11 1F 11 11 11",
    "B": "1E 11 11 1E 11 11 1E",
    "C": "0E 11 10 10 10 11 0E",
    "D": "1C 12 11 11 11 12 1C",
    "E": "1F 10 10 1E 10 10 1F",
    "F": "1F 10 10 1E 10 10 10",
    "G": "0E 11 10 17 11 11 0F",
    "H": "11 11 11 1F 11 11 11",
    "I": "0E 04 04 04 04 04 0E",
    "J": "07 02 02 02 02 12 0C",
    "K": "11 12 14 18 14 12 11",
    "L": "10 10 10 10 10 10 1F",
    "M": "11 1B 15 15 11 11 11",
    "N": "11 11 19 15 13 11 11",
    "O": "0E 11 11 11 11 11 0E",
    "P": "1E 11 11 1E 10 10 10",
    "Q": "0E 11 11 11 15 12 0D",
    "R": "1E 11 11 1E 14 12 11",
    "S": "0F 10 10 0E 01 01 1E",
    "T": "1F 04 04 04 04 04 04",
    "U": "11 11 11 11 11 11 0E",
    "V": "11 11 11 11 11 0A 04",
    "W": "11 11 11 15 15 15 0A",
    "X": "11 11 0A 04 0A 11 11",
    "Y": "11 11 11 0A 04 04 04",
    "Z": "1F 01 02 04 08 10 1F",
    "a": "00 00 0E 01 0F 11 0F",
    "b": "10 10 16 19 11 11 1E",
    "c": "00 00 0E 10 10 11 0E",
    "d": "01 01 0D 13 11 11 0F",
    "e": "00 00 0E 11 1F 10 0E",
    "f": "06 09 08 1C 08 08 08",
    "g": "00 0F 11 11 0F 01 0E",
    "h": "10 10 16 19 11 11 11",
    "i": "04 00 0C 04 04 04 0E",
    "j": "02 00 06 02 02 12 0C",
    "k": "10 10 12 14 18 14 12",
    "l": "0C 04 04 04 04 04 0E",
    "m": "00 00 1A 15 15 11 11",
    "n": "00 00 16 19 11 11 11",
    "o": "00 00 0E 11 11 11 0E",
    "p": "00 00 1E 11 1E 10 10",
    "q": "00 00 0D 13 0F 01 01",
    "r": "00 00 16 19 10 10 10",
    "s": "00 00 0E 10 0E 01 1E",
    "t": "08 08 1C 08 08 09 06",
    "u": "00 00 11 11 11 13 0D",
    "v": "00 00 11 11 11 0A 04",
    "w": "00 00 11 11 15 15 0A",
    "x": "00 00 11 0A 04 0A 11",
    "y": "00 00 11 11 0F 01 0E",
    "z": "00 00 1F 02 04 08 1F",
    ".": "00 00 00 00 00 0C 0C",
    ",": "00 00 00 00 0C 04 08",
    ":": "00 0C 0C 00 0C 0C 00",
    "(": "02 04 08 08 08 04 02",
    ")": "08 04 02 02 02 04 08",
    "-": "00 00 00 1F 00 00 00",
    "/": "00 01 02 04 08 10 00",
    "%": "18 19 02 04 08 13 03",
    "=": "00 00 1F 00 1F 00 00",
    "+": "00 04 04 1F 04 04 00",
    "_": "00 00 00 00 00 00 1F",
    "?": "0E 11 01 02 04 00 04",
}


class Canvas:
    """An RGB picture to draw rectangles and text on."""

    def __init__(self, width: int, height: int, background: RGB = (255, 255, 255)) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(background) * (width * height))

    def rect(self, x: int, y: int, w: int, h: int, colour: RGB) -> None:
        x0, x1 = max(0, x), min(self.width, x + w)
        row = bytes(colour) * max(0, x1 - x0)
        for yy in range(max(0, y), min(self.height, y + h)):
            start = 3 * (yy * self.width + x0)
            self.pixels[start : start + len(row)] = row

    def text(self, x: int, y: int, text: str, colour: RGB = (0, 0, 0), scale: int = 2) -> None:
        """``text`` with its top left corner at (x, y); 6 * scale pixels a
        character (unknown characters are drawn as '?')."""
        for k, ch in enumerate(text):
            rows = [int(v, 16) for v in FONT.get(ch, FONT["?"]).split()]
            left = x + k * 6 * scale
            for r, bits in enumerate(rows):
                for c in range(5):
                    if bits & (0x10 >> c):
                        self.rect(left + c * scale, y + r * scale, scale, scale, colour)

    def save(self, path: Path) -> None:
        write_rgb_png(path, self.width, self.height, bytes(self.pixels))


def text_width(text: str, scale: int = 2) -> int:
    return len(text) * 6 * scale


BAR_COLOURS = {"rcffi": (214, 96, 28), "cffi": (60, 110, 180), "ctypes": (120, 120, 120)}


def write_bar_chart(
    path: Path, title: str, rows: Sequence[tuple[str, float, str]], unit: str
) -> None:
    """A horizontal bar chart: one bar per ``(label, value, note)``, the
    value written after the bar with ``unit`` and the note."""
    scale, bar_h, gap = 2, 26, 12
    label_w = max(text_width(label, scale) for label, _, _ in rows) + 20
    notes = [f"{value:,.0f} {unit}  {note}".rstrip() for _, value, note in rows]
    bar_max, right = 560, max(text_width(n, scale) for n in notes) + 20
    top = 60
    width = max(20 + label_w + bar_max + right, text_width(title, scale) + 40)
    height = top + len(rows) * (bar_h + gap) + 30
    canvas = Canvas(width, height)
    canvas.text(20, 18, title, scale=scale)
    biggest = max(value for _, value, _ in rows) or 1.0
    for i, ((label, value, _note), text) in enumerate(zip(rows, notes, strict=True)):
        y = top + i * (bar_h + gap)
        colour = next((c for key, c in BAR_COLOURS.items() if label.startswith(key)), (90, 90, 90))
        canvas.text(20, y + (bar_h - 7 * scale) // 2, label, scale=scale)
        length = max(1, round(bar_max * value / biggest))
        canvas.rect(20 + label_w, y, length, bar_h, colour)
        canvas.text(20 + label_w + length + 10, y + (bar_h - 7 * scale) // 2, text, scale=scale)
    canvas.rect(20 + label_w - 1, top - 6, 1, len(rows) * (bar_h + gap) + 2, (0, 0, 0))
    canvas.save(path)
