"""The one strict reader of every file and request body csbm takes in (DESIGN.md,
"One message model, one reader"; issue 8).

JSON is read by the JSON parser, YAML by libyaml (PyYAML's C loader). Either way the
result is plain JSON data — objects with text keys, arrays, text, finite numbers,
``true``/``false``, ``null`` — and these are refused with the place and the reason:

* a key given twice in one object (it would hide a value; RFC 8259 §4 leaves it open);
* YAML anchors and aliases (a few hundred bytes can expand to gigabytes), tags, and
  keys that are not text;
* ``NaN``, ``Infinity`` and numbers too large for a double (RFC 8785 §3.2.2.3 cannot
  carry them), and integers beyond ±(2⁵³ − 1), which a double cannot hold exactly
  (RFC 7493 §2.2, I-JSON);
* nesting deeper than :data:`MAX_DEPTH`, input larger than :data:`MAX_BYTES`, text that
  is not UTF-8.

YAML is read by the YAML 1.2 core schema, not 1.1: ``yes``/``no``/``on``/``off`` stay
text, booleans are only ``true``/``false``, and dates and times stay text — csbm reads
instants itself (``csbm.domain.time``), so ``2017-02-30`` is refused by csbm with its
path instead of by the YAML library with a traceback.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml

try:
    import yaml_rs as _yaml_rs
except ImportError:  # pragma: no cover - a pinned dependency; libyaml reads it all then
    _yaml_rs = None  # type: ignore[assignment]

from csbm.errors import InputError, NotFoundError, Problem

MAX_BYTES = 64 * 1024 * 1024
"""The largest input read (64 MiB): 10⁵ activities in JSON take about 40 MiB."""

MAX_DEPTH = 100
"""The deepest nesting of objects and arrays accepted (csbm's own forms use < 10)."""

MAX_SAFE_INTEGER = 2**53 - 1

Format = Literal["json", "yaml"]

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_SAFE_INTEGER",
    "parse_document",
    "read_document",
    "read_text",
]


def read_text(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES) -> str:
    """The UTF-8 text of a file; NotFoundError or InputError naming the path."""
    file = Path(path)
    where = str(path)
    try:
        if file.is_dir():
            raise InputError(
                f"{where}: is a directory", [Problem(where, "is a directory, not a file")]
            )
        with file.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise NotFoundError(f"{where}: no such file", code="input.missing") from None
    except PermissionError:
        raise InputError(f"{where}: not readable", [Problem(where, "permission denied")]) from None
    except IsADirectoryError:
        raise InputError(
            f"{where}: is a directory", [Problem(where, "is a directory, not a file")]
        ) from None
    except OSError as exc:
        raise InputError(
            f"{where}: cannot read", [Problem(where, exc.strerror or str(exc))]
        ) from None
    if len(raw) > max_bytes:
        raise InputError(
            f"{where}: too large",
            [Problem(where, f"larger than the {max_bytes:,} bytes csbm reads")],
        )
    return _decode(raw, where)


def read_document(
    path: str | os.PathLike[str], *, fmt: Format | None = None, max_bytes: int = MAX_BYTES
) -> Any:
    """Read and parse a JSON or YAML file (``.json`` is JSON; anything else is YAML, a
    superset of JSON, unless the text opens with ``{`` or ``[``, which is read as JSON)."""
    text = read_text(path, max_bytes=max_bytes)
    if fmt is None and Path(path).suffix.lower() == ".json":
        fmt = "json"
    return parse_document(text, str(path), fmt=fmt, max_bytes=max_bytes)


def parse_document(
    text: str | bytes,
    origin: str = "input",
    *,
    fmt: Format | None = None,
    max_bytes: int = MAX_BYTES,
) -> Any:
    """Parse JSON or YAML text into plain JSON data, refusing what the module doc lists.

    ``fmt`` None: JSON when the text opens with ``{`` or ``[`` (after blanks), else YAML.
    """
    if isinstance(text, bytes | bytearray):
        if len(text) > max_bytes:
            raise InputError(
                f"{origin}: too large",
                [Problem(origin, f"larger than the {max_bytes:,} bytes csbm reads")],
            )
        text = _decode(bytes(text), origin)
    elif len(text) > max_bytes and len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise InputError(
            f"{origin}: too large",
            [Problem(origin, f"larger than the {max_bytes:,} bytes csbm reads")],
        )
    if "\x00" in text:
        raise InputError(f"{origin}: not text", [Problem(origin, "holds a NUL character")])
    if fmt is None:
        fmt = "json" if text.lstrip(" \t\r\n\ufeff")[:1] in ("{", "[") else "yaml"
    if fmt == "json":
        data = _parse_json(text, origin)
        _check_tree(data, origin)
        return data
    return _parse_yaml(text, origin)


# -- decoding


def _decode(raw: bytes, origin: str) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{origin}: not UTF-8",
            [Problem(origin, f"not UTF-8 text (byte {exc.start + 1}, line {line})")],
        ) from None


# -- JSON


class _Refused(ValueError):
    """Raised inside the JSON parser's hooks; carries the reason."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"key {key!r} is given twice")
            seen.add(key)
    return out


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not a number JSON can carry (RFC 8259 §6)")


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _Refused(f"{text} is too large for a double (RFC 8785 §3.2.2.3)")
    return value


def _int(text: str) -> int:
    if len(text) > 17:  # 2**53 has 16 digits; cheap test before converting
        raise _Refused(f"the integer {text[:20]}… is beyond ±(2⁵³ − 1) (I-JSON, RFC 7493)")
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise _Refused(f"the integer {text} is beyond ±(2⁵³ − 1) (I-JSON, RFC 7493)")
    return value


_DECODER = json.JSONDecoder(
    object_pairs_hook=_pairs, parse_constant=_constant, parse_float=_float, parse_int=_int
)


def _parse_json(text: str, origin: str) -> Any:
    try:
        return _DECODER.decode(text)
    except _Refused as exc:
        raise InputError(f"{origin}: refused", [Problem(origin, str(exc))]) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{origin}: not valid JSON",
            [Problem(f"{origin}:{exc.lineno}:{exc.colno}", f"not valid JSON: {exc.msg}")],
        ) from None
    except RecursionError:
        raise InputError(
            f"{origin}: nested too deeply",
            [Problem(origin, f"nested deeper than {MAX_DEPTH} levels")],
        ) from None


# -- YAML (libyaml, YAML 1.2 core schema)


_PLAIN = re.compile(
    r"(?P<bool>true|True|TRUE|false|False|FALSE)"
    r"|(?P<int>[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)"
    r"|(?P<float>[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))"
    r"|(?P<null>~|null|Null|NULL)"
)
"""The YAML 1.2 core schema's plain scalars (yaml.org/spec/1.2.2 §10.3.2); all else is text."""

_MAYBE_TYPED = frozenset("tTfF-+0123456789.~nN")


_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_NULL = "tag:yaml.org,2002:null"
_TAGS = {
    "bool": "tag:yaml.org,2002:bool",
    "int": "tag:yaml.org,2002:int",
    "float": "tag:yaml.org,2002:float",
    "null": _NULL,
}


class _Loader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """libyaml's parser and composer; csbm's own constructor below."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        """The tag of a node by the YAML 1.2 core schema (PyYAML's resolver is 1.1, and
        slow: it is called for every scalar)."""
        if kind is yaml.ScalarNode:
            if not implicit[0]:
                return _STR
            if value == "":
                return _NULL
            if value[0] in _MAYBE_TYPED:
                match = _PLAIN.fullmatch(value)
                if match is not None:
                    return _TAGS[match.lastgroup or ""]
            return _STR
        return _MAP if kind is yaml.MappingNode else _SEQ


class _YamlRefused(Exception):
    def __init__(self, path: str, reason: str, mark: Any = None) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason
        self.mark = mark


def _at(mark: Any) -> str:
    return f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""


def _build(node: yaml.Node, path: str, depth: int, seen: set[int]) -> Any:
    """Turn a composed node into plain data; a node met twice is an alias."""
    if id(node) in seen:
        raise _YamlRefused(path, "YAML anchors and aliases are not accepted", node.start_mark)
    if depth > MAX_DEPTH:
        raise _YamlRefused(path, f"nested deeper than {MAX_DEPTH} levels", node.start_mark)
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node, path)
    seen.add(id(node))
    if isinstance(node, yaml.SequenceNode):
        if node.tag != _SEQ:
            raise _YamlRefused(path, f"YAML tag {node.tag} is not accepted", node.start_mark)
        return [_build(item, f"{path}[{i}]", depth + 1, seen) for i, item in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        if node.tag != _MAP:
            raise _YamlRefused(path, f"YAML tag {node.tag} is not accepted", node.start_mark)
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if id(key_node) in seen:
                raise _YamlRefused(
                    path, "YAML anchors and aliases are not accepted", key_node.start_mark
                )
            if (
                not isinstance(key_node, yaml.ScalarNode)
                or key_node.tag == "tag:yaml.org,2002:merge"
            ):
                raise _YamlRefused(
                    path, "a key must be text (no merge keys or complex keys)", key_node.start_mark
                )
            key = key_node.value
            where = f"{path}.{key}" if path else key
            if key in out:
                raise _YamlRefused(where, f"key {key!r} is given twice", key_node.start_mark)
            out[key] = _build(value_node, where, depth + 1, seen)
        return out
    raise _YamlRefused(path, "not a YAML value csbm reads", getattr(node, "start_mark", None))


def _scalar(node: yaml.ScalarNode, path: str) -> Any:
    tag, value = node.tag, node.value
    if tag == _STR:
        return value
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:bool":
        return value in ("true", "True", "TRUE")
    if tag == "tag:yaml.org,2002:int":
        if len(value.lstrip("+-")) > 17 and value.lstrip("+-")[:2] not in ("0x", "0o"):
            raise _YamlRefused(
                path, "an integer beyond ±(2⁵³ − 1) (I-JSON, RFC 7493)", node.start_mark
            )
        try:
            number = int(value, 0) if value.lstrip("+-")[:2] in ("0x", "0o") else int(value)
        except ValueError:
            raise _YamlRefused(path, f"not a number: {value}", node.start_mark) from None
        if abs(number) > MAX_SAFE_INTEGER:
            raise _YamlRefused(
                path, "an integer beyond ±(2⁵³ − 1) (I-JSON, RFC 7493)", node.start_mark
            )
        return number
    if tag == "tag:yaml.org,2002:float":
        lowered = value.lower().lstrip("+-")
        if lowered in (".inf", ".nan"):
            raise _YamlRefused(path, f"{value} is not a finite number", node.start_mark)
        real = float(value)
        if math.isinf(real):
            raise _YamlRefused(path, f"{value} is too large for a double", node.start_mark)
        return real
    raise _YamlRefused(path, f"YAML tag {tag} is not accepted", node.start_mark)


_NOT_FAST = object()
"""What :func:`_fast_yaml` answers when the text is for libyaml to read."""

_FAST_KEEP = bytes(
    b
    for b in range(256)
    if (b == 0x0A or 0x20 <= b <= 0x7E or b >= 0x80) and chr(b) not in "&*!%@`\\[]{}|>"
)
"""Bytes that may stand anywhere in text for :func:`_fast_yaml`: block-style YAML of plain
and quoted scalars. Everything else of ASCII -- anchors ``&``, aliases ``*``, tags ``!``,
directives ``%``, reserved ``@`` and a backtick, escapes, flow collections ``[]{}`` (but
an empty one as a whole value: :data:`_FAST_EMPTY`), block scalars ``|`` ``>``, tabs,
carriage returns, control characters -- and a lone ``?`` (a complex key:
:data:`_FAST_QUESTION`) are for libyaml (where the two parsers' readings of odd syntax
differ)."""

_FAST_EMPTY = re.compile(rb"(: |- |\A)(?:\{\}|\[\])(?=\n|\Z)")
"""An empty mapping or list as a whole value (``body: {}``, ``- []``, a document ``{}``),
as PyYAML writes every empty one: the one flow collection :func:`_fast_yaml` takes (both
readers give an empty dict or list; any other flow syntax is left to libyaml)."""

_FAST_QUESTION = re.compile(rb"(?:\A|[\n ])\?(?:[ \n]|\Z)")
"""A question mark standing alone, as the complex key indicator does (``? key``): for
libyaml. Inside text (``'?'``, ``why?``) it is only a character to both readers."""

_FAST_NOT_ASCII = re.compile(
    rb"\xc2[\x80-\x9f]|\xe2\x80[\xa8\xa9]|\xef\xbb\xbf|\xef\xbf[\xbe\xbf]"
)
"""In UTF-8: C1 controls and NEL, the line and paragraph separators (YAML 1.1 line
breaks, which libyaml reads as such), a BOM inside the text, U+FFFE and U+FFFF."""

_FAST_CLASSES = bytes.maketrans(
    b"0123456789.+-eExXoObB \n,:[]{}#",
    b"\x01" * 15 + b"\x02" * 6 + b"\x03" * 9,
)
"""Bytes by their part in a number: 1 a digit, sign, point or exponent; 2 a base prefix
letter (``0x``); 3 a blank or a flow indicator, where a scalar starts or ends; every
other byte stays itself (a letter: no number holds it)."""

_FAST_LOOSE = re.compile(rb"_(?<=[\x01\x02\x03_]_)[\x01\x03_]")
"""An underscore between number characters or borders (``1_000``, ``_1``, ``1e_5``,
``0x_1``, ``1__0``): a number to yaml-rs, text to the YAML 1.2 core schema. With a letter
beside it (``battle_tanks``, ``activity_12``, ``single_operational``), text to both."""

_FAST_BASE = re.compile(rb"0[xXoObB]")
"""A base prefix: ``0x10`` is 16 to both readers, but yaml-rs also reads ``0X10``,
``+0x10`` and ``0b1`` as numbers."""


def _fast_refused(text: str) -> bool:
    """Whether :func:`_fast_yaml` leaves ``text`` to libyaml: anything yaml-rs might read
    otherwise than csbm's libyaml reader (YAML 1.2 core resolver) or refuse otherwise,
    and nesting deep enough to exhaust yaml-rs's stack (it recurses). Conservative: a
    false alarm only costs speed. Byte-level passes (about 0.3 s for 27 MB)."""
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return True
    if b"{}" in raw or b"[]" in raw:
        raw = _FAST_EMPTY.sub(rb"\1", raw)
    if raw.translate(None, _FAST_KEEP):
        return True
    if b"?" in raw and _FAST_QUESTION.search(raw) is not None:
        return True
    if not raw.isascii() and _FAST_NOT_ASCII.search(raw) is not None:
        return True
    if b"\n---" in raw or b"\n..." in raw or raw.lstrip(b"\n").startswith((b"---", b"...")):
        return True  # document markers: more than one document, or a directive's end
    if b"\n" + b" " * 48 in raw or _FAST_DASHES.search(raw) is not None:
        return True  # deep indentation, a long run of compact sequences: deep nesting
    if _FAST_BASE.search(raw) is not None:
        return True
    classes = b"\x03" + raw.translate(_FAST_CLASSES) + b"\x03"
    return _FAST_LOOSE.search(classes) is not None


_FAST_DASHES = re.compile(rb"-[ ]+-[ ]+-[ ]+-[ ]+-[ ]+-[ ]+-[ ]+-[ ]+-[ ]+-[ ]+-[ ]+-[ ]+-")


def _fast_yaml(text: str) -> Any:
    """Plain data of YAML text by yaml-rs (a YAML 1.2 parser in Rust, ten times faster than
    libyaml through PyYAML on 10⁵ activities), or :data:`_NOT_FAST`.

    Only text that holds nothing of what csbm refuses or reads its own way (see
    :func:`_fast_refused`) is given to it, and only a result that is plain JSON data csbm
    accepts (text keys, safe integers, finite numbers, depth ≤ :data:`MAX_DEPTH`) is kept;
    anything else -- any error included -- is read again by libyaml, which gives the
    refusals with their line and column. The two readers give the same data for the text
    the fast one takes (tests/test_reader.py compares them)."""
    if _yaml_rs is None or _fast_refused(text):
        return _NOT_FAST
    try:
        data = _yaml_rs.loads(text, parse_datetime=False)
    except Exception:  # libyaml says what is wrong
        return _NOT_FAST
    return data if _plain_data(data) else _NOT_FAST


def _plain_data(data: Any) -> bool:
    """Whether ``data`` is JSON data the strict reader would give (iterative)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    top = MAX_SAFE_INTEGER
    while stack:
        node, depth = stack.pop()
        kind = type(node)
        if kind is dict:
            values = node.values()
            if not all(type(k) is str for k in node):
                return False
        elif kind is list:
            values = node
        else:
            values = (node,)
            depth -= 1
        if depth > MAX_DEPTH:
            return False
        for value in values:
            kind = type(value)
            if kind is str or kind is bool or value is None:
                continue
            if kind is int:
                if -top <= value <= top:
                    continue
                return False
            if kind is float:
                if -math.inf < value < math.inf:
                    continue
                return False
            if kind is dict or kind is list:
                stack.append((value, depth + 1))
                continue
            return False
    return True


def _parse_yaml(text: str, origin: str) -> Any:
    fast = _fast_yaml(text)
    if fast is not _NOT_FAST:
        return fast
    return _parse_libyaml(text, origin)


def _parse_libyaml(text: str, origin: str) -> Any:
    """The strict reader by libyaml: the reference, and every refusal's line and column."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        return _build(node, "", 1, set())
    except _YamlRefused as exc:
        raise InputError(
            f"{origin}: refused",
            [Problem(f"{origin}: {exc.path}" if exc.path else origin, exc.reason + _at(exc.mark))],
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"{origin}:{mark.line + 1}:{mark.column + 1}" if mark is not None else origin
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(
            f"{origin}: not valid YAML or JSON", [Problem(where, f"not valid YAML: {problem}")]
        ) from None
    except RecursionError:
        raise InputError(
            f"{origin}: nested too deeply",
            [Problem(origin, f"nested deeper than {MAX_DEPTH} levels")],
        ) from None
    finally:
        loader.dispose()


# -- the whole tree


def _check_tree(data: Any, origin: str) -> None:
    """Depth of the parsed JSON (the YAML builder checks as it goes): level by level, no
    recursion."""
    if type(data) is not dict and type(data) is not list:
        return
    level = [data]
    depth = 1
    while level:
        if depth > MAX_DEPTH:
            raise InputError(
                f"{origin}: nested too deeply",
                [Problem(origin, f"nested deeper than {MAX_DEPTH} levels")],
            )
        below: list[Any] = []
        add = below.append
        for node in level:
            for child in node.values() if type(node) is dict else node:
                if type(child) is dict or type(child) is list:
                    add(child)
        level = below
        depth += 1
