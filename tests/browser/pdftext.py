"""The text of a PDF printed by Chromium, for the tests (no PDF library in the lock).

Source: ISO 32000-1 (PDF 1.7) §7.3.8 (streams, FlateDecode), §9.4.3 (text-showing
operators ``Tj``/``TJ``), §9.10.3 (``ToUnicode`` CMaps: ``bfchar``/``bfrange``). Skia,
Chromium's printer, writes each font as a Type0 font with 2-byte glyph codes and a
ToUnicode CMap; its content streams select a font with ``/Fn size Tf`` and show hex
strings. ``pdftotext`` (poppler) is used instead when it is installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib

__all__ = ["pdf_text"]

OBJECT = re.compile(rb"(\d+) 0 obj(.*?)endobj", re.S)
STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
FONT_ENTRY = re.compile(rb"/(F\w*)\s+(\d+) 0 R")
TO_UNICODE = re.compile(rb"/ToUnicode\s+(\d+) 0 R")
DESCENDANT = re.compile(rb"/DescendantFonts\s*\[?\s*(\d+) 0 R")
#: A font chosen (``/Fn size Tf``), an array shown (``TJ``), a string shown (``Tj``), a
#: new line (``T*``) or the end of a text object (``ET``).
TOKEN = re.compile(
    rb"/(F\w*)\s+[\d.]+\s+Tf|\[(.*?)\]\s*TJ|<([0-9A-Fa-f\s]*)>\s*Tj|(T\*|ET)", re.S
)
HEX = re.compile(rb"<([0-9A-Fa-f\s]*)>")


def _objects(data: bytes) -> dict[int, tuple[bytes, bytes | None]]:
    found: dict[int, tuple[bytes, bytes | None]] = {}
    for match in OBJECT.finditer(data):
        body = match.group(2)
        stream = STREAM.search(body)
        raw: bytes | None = None
        head = body
        if stream:
            head = body[: stream.start()]
            raw = stream.group(1)
            if b"/FlateDecode" in head:
                try:
                    raw = zlib.decompress(raw)
                except zlib.error:
                    raw = None
        found[int(match.group(1))] = (head, raw)
    return found


def _cmap(text: bytes) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
        pairs = HEX.findall(block)
        for src, dst in zip(pairs[::2], pairs[1::2], strict=False):
            mapping[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be", "replace")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
        for lo, hi, dst in re.findall(rb"<(\w+)>\s*<(\w+)>\s*<(\w+)>", block):
            start = int.from_bytes(bytes.fromhex(dst.decode()), "big")
            for offset, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                mapping[code] = chr(start + offset)
    return mapping


def _decode(hexes: bytes, cmap: dict[int, str]) -> str:
    raw = bytes.fromhex(re.sub(rb"\s", b"", hexes).decode())
    codes = (int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw) - 1, 2))
    return "".join(cmap.get(code, "") for code in codes)


def _own(data: bytes) -> str:
    objects = _objects(data)
    fonts: dict[bytes, dict[int, str]] = {}
    for head, _raw in objects.values():
        for name, number in FONT_ENTRY.findall(head):
            font = objects.get(int(number))
            if font is None:
                continue
            unicode = TO_UNICODE.search(font[0])
            if unicode is None:
                descendant = DESCENDANT.search(font[0])
                inner = objects.get(int(descendant.group(1))) if descendant else None
                unicode = TO_UNICODE.search(inner[0]) if inner else None
            cmap_object = objects.get(int(unicode.group(1))) if unicode else None
            if cmap_object and cmap_object[1]:
                fonts[name] = _cmap(cmap_object[1])
    lines: list[str] = []
    for head, raw in objects.values():
        if raw is None or b"Tf" not in raw or b"/Subtype" in head:
            continue
        cmap: dict[int, str] = {}
        line = ""
        for match in TOKEN.finditer(raw):
            chosen, array, single, move = match.groups()
            if chosen is not None:
                cmap = fonts.get(chosen, {})
            elif array is not None:
                line += "".join(_decode(h, cmap) for h in HEX.findall(array))
            elif single is not None:
                line += _decode(single, cmap)
            elif move is not None and line:
                lines.append(line)
                line = ""
        if line:
            lines.append(line)
    return "\n".join(lines)


def pdf_text(data: bytes) -> str:
    """The text of the PDF ``data``: by ``pdftotext`` when installed, else read here."""
    tool = shutil.which("pdftotext")
    if tool:
        done = subprocess.run([tool, "-layout", "-", "-"], input=data, capture_output=True,
                              timeout=60, check=True)  # fmt: skip
        return done.stdout.decode("utf-8", "replace")
    return _own(data)
