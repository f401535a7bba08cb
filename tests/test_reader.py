"""The one strict reader (csbm.reader): what it refuses, and that it refuses it cleanly."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csbm.errors import CsbmError, InputError, NotFoundError
from csbm.reader import MAX_DEPTH, MAX_SAFE_INTEGER, parse_document, read_document


def refused(text: str | bytes, fmt: str | None = None) -> str:
    with pytest.raises(InputError) as info:
        parse_document(text, "f", fmt=fmt)  # type: ignore[arg-type]
    lines = info.value.lines()
    assert len(lines) == 1
    return lines[0]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"kind": "a", "kind": "b"}', "'kind' is given twice"),
        ("kind: a\nkind: b\n", "'kind' is given twice"),
        ("a:\n  b: 1\n  b: 2\n", "a.b: key 'b' is given twice"),
        ('{"a": NaN}', "NaN is not a number"),
        ('{"a": -Infinity}', "-Infinity is not a number"),
        ("[1e400]", "too large for a double"),
        ("a: .inf\n", "not a finite number"),
        ("a: -.Inf\n", "not a finite number"),
        ("a: .nan\n", "not a finite number"),
        ("a: 1e400\n", "too large for a double"),
        ('{"n": 9007199254740992}', "beyond ±(2⁵³ − 1)"),
        ("n: -9007199254740992\n", "beyond ±(2⁵³ − 1)"),
        ("n: " + "9" * 5001 + "\n", "beyond ±(2⁵³ − 1)"),
        ('{"n": ' + "9" * 5001 + "}", "beyond ±(2⁵³ − 1)"),
        ("a: &x [1]\nb: *x\n", "anchors and aliases"),
        ("x: !!python/object:os.system 1\n", "tag"),
        ("? [1, 2]\n: 3\n", "a key must be text"),
        ('{"a": 1', "not valid JSON"),
        ("a: [1, 2\n", "not valid YAML"),
        ("a: 1\x00", "NUL"),
    ],
)
def test_refused_with_reason(text: str, reason: str) -> None:
    assert reason in refused(text)


def test_alias_bomb_refused_at_once() -> None:
    """The billion-laughs document: under 1 KB, it would expand to gigabytes."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 12):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    text = "\n".join(lines) + "\n"
    assert len(text) < 1024
    started = time.monotonic()
    assert "anchors and aliases" in refused(text)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("fmt", ["json", "yaml"])
@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5_000, 100_000])
def test_deep_nesting_refused(fmt: str, depth: int) -> None:
    text = "[" * depth + "]" * depth
    line = refused(text, fmt)
    assert "nested" in line or "not valid" in line


def test_depth_at_the_limit_is_read() -> None:
    text = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert parse_document(text, "f", fmt="json") is not None
    assert parse_document(text, "f", fmt="yaml") is not None


def test_yaml_core_schema_dates_and_booleans_stay_what_csbm_reads() -> None:
    doc = parse_document(
        "start: 2017-02-30\nat: 2022-02-09T10:00:00Z\nyes_no: yes\non: off\nt: true\n"
        "n: ~\ne:\nhex: 0x10\nf: -.5\nunderscored: 1_000\nbig: 1e16\n",
        "f",
    )
    assert doc == {
        "start": "2017-02-30",
        "at": "2022-02-09T10:00:00Z",
        "yes_no": "yes",
        "on": "off",
        "t": True,
        "n": None,
        "e": None,
        "hex": 16,
        "f": -0.5,
        "underscored": "1_000",
        "big": 1e16,
    }


def test_integer_keys_become_text_as_in_json() -> None:
    assert parse_document("units: {BY: {2022: 40}}\n", "f") == {"units": {"BY": {"2022": 40}}}


def test_largest_safe_integer_is_read() -> None:
    assert parse_document(f"[{MAX_SAFE_INTEGER}]", "f") == [MAX_SAFE_INTEGER]
    assert parse_document(f"- {-MAX_SAFE_INTEGER}\n", "f") == [-MAX_SAFE_INTEGER]


def test_not_utf8_and_bom(tmp_path: Path) -> None:
    assert "not UTF-8" in refused(b"a: \xff\xfe\n")
    bom = tmp_path / "bom.yaml"
    bom.write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert read_document(bom) == {"a": 1}


def test_files(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        read_document(tmp_path / "missing.yaml")
    with pytest.raises(InputError, match="directory"):
        read_document(tmp_path)
    big = tmp_path / "big.json"
    big.write_text("[" + "1," * 600 + "1]")
    with pytest.raises(InputError, match="too large"):
        read_document(big, max_bytes=1000)
    as_json = tmp_path / "x.json"
    as_json.write_text("a: 1\n")  # YAML in a .json file is not JSON
    with pytest.raises(InputError, match="not valid JSON"):
        read_document(as_json)


def _values(text: st.SearchStrategy[str]) -> st.SearchStrategy[object]:
    return st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
        | st.floats(allow_nan=False, allow_infinity=False)
        | text,
        lambda children: (
            st.lists(children, max_size=5) | st.dictionaries(text, children, max_size=5)
        ),
        max_leaves=30,
    )


json_values = _values(st.text(max_size=20))
# YAML text may not hold control characters unescaped (YAML 1.2 §5.1, c-printable).
printable_values = _values(st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=20))


@given(json_values)
@settings(max_examples=200, deadline=None)
def test_json_round_trip(value: object) -> None:
    assert parse_document(json.dumps(value), "f", fmt="json") == value


@given(printable_values)
@settings(max_examples=200, deadline=None)
def test_yaml_reads_json_text_the_same(value: object) -> None:
    """YAML 1.2 is a superset of JSON: the same text gives the same data either way.
    (libyaml refuses JSON's surrogate-pair escapes of astral characters, so the text is
    written unescaped; ``fmt=None`` reads text opening with ``{`` or ``[`` as JSON.)"""
    text = json.dumps(value, ensure_ascii=False)
    assert parse_document(text, "f", fmt="yaml") == parse_document(text, "f", fmt="json")


@given(st.text(max_size=200) | st.binary(max_size=200))
@settings(max_examples=500, deadline=None)
def test_any_input_is_data_or_a_clean_error(text: str | bytes) -> None:
    for fmt in ("json", "yaml", None):
        try:
            parse_document(text, "f", fmt=fmt)
        except CsbmError as exc:
            assert exc.lines()


# -- the fast YAML reader (yaml-rs) against libyaml: the same data, or left to libyaml

from csbm.reader import _NOT_FAST, _fast_refused, _fast_yaml, _parse_libyaml  # noqa: E402

_TOKEN_CHARS = "0123456789_.eE+-xXoObBtTrRuUfFaAlLsSnN~ :,[]{}'\"#|>?\n"


def _same_or_left(text: str) -> None:
    fast = _fast_yaml(text)
    if fast is _NOT_FAST:
        return
    try:
        slow = _parse_libyaml(text, "f")
    except InputError as exc:
        message = f"yaml-rs read {text!r} as {fast!r}; libyaml refuses it: {exc}"
        raise AssertionError(message) from exc
    assert fast == slow and _types(fast) == _types(slow), text


def _types(value: object) -> object:
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_types(v) for v in value]
    return type(value).__name__


@given(st.text(st.sampled_from(_TOKEN_CHARS), min_size=1, max_size=8))
@settings(max_examples=int(os.environ.get("FAST_YAML_EXAMPLES", "3000")), deadline=None)
def test_fast_yaml_scalars_read_as_libyaml(token: str) -> None:
    """Plain scalars made of number, boolean and null characters: yaml-rs and csbm's YAML
    1.2 core resolver agree on every one the fast path takes (1_000, 0X1, 0b1, 1e_5 are
    text to the core schema and numbers to yaml-rs: left to libyaml)."""
    for text in (f"k: {token}\n", f"- {token}\n", f"[{token}]\n", f"{token}: 1\n", token):
        _same_or_left(text)


@given(printable_values, st.sampled_from([None, False, True]), st.integers(4, 80))
@settings(max_examples=300, deadline=None)
def test_fast_yaml_documents_read_as_libyaml(value: object, flow: bool | None,
                                             width: int) -> None:  # fmt: skip
    """Documents as PyYAML writes them (block, flow, folded at any width, quoted as needed)."""
    import yaml

    text = yaml.safe_dump(value, default_flow_style=flow, width=width, allow_unicode=True)
    _same_or_left(text)
    for style in ("'", '"', "|", ">"):
        _same_or_left(yaml.safe_dump(value, default_style=style, allow_unicode=True))


@pytest.mark.parametrize(
    "text",
    [
        "- " * 50_000 + "x\n",  # yaml-rs recurses: its stack would overflow
        "".join("  " * i + "- \n" for i in range(200)),
        "k: 1_000\n",
        "k: 0X10\n",
        "a: &x 1\nb: *x\n",
        "a: 1\n---\nb: 2\n",
        "a: x\u2028y\n",
    ],
)
def test_fast_yaml_leaves_to_libyaml(text: str) -> None:
    assert _fast_refused(text) or _fast_yaml(text) is _NOT_FAST


def test_fast_yaml_reads_an_activity_file() -> None:
    text = (
        "activities:\n"
        "- name: Zapad-2017\n  conducting_states:\n  - BY\n  - RU\n  host_state: BY\n"
        "  start: 2017-09-14\n  single_operational_command: true\n"
        "  forces:\n    troops: 12700\n    battle_tanks: 680\n  notified: yes\n"
    )
    assert not _fast_refused(text)
    assert _fast_yaml(text) == _parse_libyaml(text, "f")


@pytest.mark.parametrize(
    ("text", "data"),
    [
        ("body: {}\n", {"body": {}}),
        ("a:\n- []\n- {}\nb: []\n", {"a": [[], {}], "b": []}),
        ("events:\n- body: {}\n  to:\n  - PL\n", {"events": [{"body": {}, "to": ["PL"]}]}),
    ],
)
def test_fast_yaml_takes_empty_collections(text: str, data: object) -> None:
    """An empty mapping or list as a whole value (as PyYAML writes every empty one) keeps
    the text on the fast path, read as libyaml reads it."""
    assert not _fast_refused(text)
    assert _fast_yaml(text) == data == _parse_libyaml(text, "f")


@pytest.mark.parametrize(
    "text",
    ["? k\n: v\n", "k: ? x\n", "- ?\n", "k: {a: 1}\n", "k: [1, 2]\n", "k: {} # c\n",
     "k: 'a: {}'\n", "k: [ ]\n"],
)
def test_fast_yaml_leaves_other_flow_collections(text: str) -> None:
    """Flow collections with content, and a lone ``?`` (a complex key): for libyaml."""
    assert _fast_refused(text)
