"""``csbm.cli._output.streamed_utf8``: a document in UTF-8 written as it is, through the
binary buffer, or through the text layer when stdout has none."""

from __future__ import annotations

import io
import sys

import pytest

from csbm.cli._output import streamed_utf8


def test_bytes_go_to_the_buffer_after_the_text_already_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", out)
    out.write("before ")  # held by the text layer: written first
    streamed_utf8(iter([b'{"a": ', "ü".encode(), b"}\n"]))
    assert raw.getvalue() == 'before {"a": ü}\n'.encode()


def test_a_stdout_without_a_buffer_gets_text(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    streamed_utf8(iter([b'{"a": ', "ü".encode(), b"}\n"]))
    assert out.getvalue() == '{"a": ü}\n'
