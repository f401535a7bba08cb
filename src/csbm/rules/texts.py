"""The rule packs' texts in the reader's language (issue 12, item 2).

A pack is data (DESIGN.md principle 2), and so are the words of it that a reader sees: the
pack's ``title``, each entry's ``title`` and the border zone's ``note``
(:data:`PACK_TEXT_FIELDS`). They are messages of csbm's catalogues like any other: ``make
messages`` extracts them from ``src/csbm/regimes/*.yaml`` with :func:`extract` (a Babel
extractor, named in ``babel.cfg``), and the edge that shows one -- a page, the CLI -- looks
it up in the reader's catalogue (:func:`pack_text`). The message id of a pack text is its
English text, as the pack gives it: documents and JSON keep it unchanged (a client renders
it from the catalogue the same way), and a pack of the user's own, whose texts no
catalogue holds, is shown as it is written. The packs themselves, their numbers and their
provenance are untouched.

Also here, so that they are extracted and translated once: the templates of the engine's
texts that embed pack words or declaration sources (:data:`CONSTRAINT_BROKEN`,
:data:`CALENDAR_SOURCE`, :data:`NOTIFICATION_SOURCE`), with :func:`rephrase`, which turns
such a text that reaches the edge as plain English (made by an f-string upstream, or read
back from a record or a JSON document made before it was a phrase) into its
:class:`~csbm.i18n.Phrase`, so that it is shown in the reader's language too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

import yaml

from csbm.i18n import N_, Phrase, gettext_in, phrase, phrase_from_json, say

__all__ = [
    "CALENDAR_SOURCE",
    "CONSTRAINT_BROKEN",
    "NOTIFICATION_SOURCE",
    "PACK_TEXT_FIELDS",
    "calendar_source",
    "constraint_broken",
    "extract",
    "finding_text",
    "notification_source",
    "pack_text",
    "pack_texts",
    "rephrase",
]

PACK_TEXT_FIELDS: tuple[tuple[str, ...], ...] = (
    ("title",),
    ("border_zone", "note"),
    ("rules", "*", "title"),
)
"""Where a pack's user-visible texts are (``*``: every item of a list): the texts the
pages and the CLI show. Provenance notes and source titles are citations, shown as
written; option notes are the analyst's settings, shown nowhere but the YAML."""


# -- extraction


def pack_texts(text: str) -> Iterator[tuple[int, str, str]]:
    """``(line, text, where)`` of every user-visible text of a pack's YAML (1-based
    line; ``where`` names the pack, entry and field, for the translator)."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        return
    pack = _scalar(_child(root, "id")) or "?"
    for path in PACK_TEXT_FIELDS:
        yield from _walk(root, path, [pack])


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return v  # type: ignore[no-any-return]
    return None


def _scalar(node: yaml.Node | None) -> str | None:
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:str":
        return str(node.value)
    return None


def _walk(node: yaml.Node | None, path: Sequence[str], where: list[str]
          ) -> Iterator[tuple[int, str, str]]:  # fmt: skip
    if not path:
        value = _scalar(node)
        if value and node is not None:
            yield node.start_mark.line + 1, value, " ".join(where)
        return
    head, rest = path[0], path[1:]
    if head == "*":
        if isinstance(node, yaml.SequenceNode):
            for item in node.value:
                label = _scalar(_child(item, "id"))
                yield from _walk(item, rest, [*where, label] if label else where)
        return
    named = where if rest and rest[0] == "*" else [*where, head]
    yield from _walk(_child(node, head), rest, named)


def extract(fileobj: IO[bytes], keywords: Mapping[str, Any], comment_tags: Sequence[str],
            options: Mapping[str, Any]) -> Iterator[tuple[int, str, str, list[str]]]:  # fmt: skip
    """Babel extractor of a rule pack's YAML (``babel.cfg``: ``[extractors]``): each
    user-visible text (:data:`PACK_TEXT_FIELDS`) as a message, with a comment naming the
    pack, the entry and the field."""
    encoding = str(options.get("encoding", "utf-8"))
    for line, text, where in pack_texts(fileobj.read().decode(encoding)):
        yield line, "", text, [f"rule pack: {where}"]


# -- at the edge


def pack_text(text: str | None, lang: str | None = None) -> str:
    """A pack text (a title, a note) in ``lang`` (default: the user's), as written when
    no catalogue holds it; ``None`` as empty."""
    if not text:
        return ""
    if lang is None:
        return say(text)
    return gettext_in(text, lang)


# -- the engine's texts that embed pack words or declaration sources

CONSTRAINT_BROKEN = N_("{state}: {count} activities where at most {limit} are allowed "
                       "({window}): {title!t}")  # fmt: skip
"""A broken constraining provision (``csbm.rules.engine``), the entry's title translated."""
CALENDAR_SOURCE = N_("{state}'s calendar for {year}")
"""A declaration of an activity's figures in a State's annual calendar."""
NOTIFICATION_SOURCE = N_("the notification of {at}")
"""A declaration of an activity's figures in its notification (before an amendment)."""


def constraint_broken(state: str, count: int, limit: int | None, window: str,
                      title: str) -> Phrase:  # fmt: skip
    """The message of a broken constraining provision: in English exactly the engine's
    f-string (``BY: 2 activities where at most 1 are allowed (2017): <title>``)."""
    return phrase(CONSTRAINT_BROKEN, state=state, count=count, limit=str(limit), window=window,
                  title=title)  # fmt: skip


def calendar_source(state: str, year: int) -> Phrase:
    """``PL's calendar for 2014``."""
    return phrase(CALENDAR_SOURCE, state=state, year=year)


def notification_source(at: str) -> Phrase:
    """``the notification of 2014-08-20T00:00:00Z`` (``at`` as ISO 8601)."""
    return phrase(NOTIFICATION_SOURCE, at=at)


_PATTERNS: tuple[tuple[re.Pattern[str], Any], ...] = (
    (re.compile(r"(?P<state>[A-Z]{2})'s calendar for (?P<year>\d{4})"),
     lambda m: calendar_source(m["state"], int(m["year"]))),
    (re.compile(r"the notification of (?P<at>\d{4}-\d\d-\d\dT[\d:.]+Z)"),
     lambda m: notification_source(m["at"])),
    (re.compile(r"(?P<state>[A-Z]{2}): (?P<count>\d+) activities where at most "
                r"(?P<limit>\d+) are allowed \((?P<window>[^()]*)\): (?P<title>.+)", re.S),
     lambda m: constraint_broken(m["state"], int(m["count"]), int(m["limit"]), m["window"],
                                 m["title"])),
)  # fmt: skip


_CANDIDATE = re.compile(r"'s calendar for |^the notification of | activities where at most ")
"""A quick test that ``text`` may be one of them (most texts are not)."""


def rephrase(text: str) -> str:
    """``text`` as a :class:`~csbm.i18n.Phrase` when it is one of the texts above in plain
    English (the same English text, now translatable); any other text as it is."""
    if isinstance(text, Phrase) or not isinstance(text, str) or not _CANDIDATE.search(text):
        return text
    for pattern, make in _PATTERNS:
        found = pattern.fullmatch(text)
        if found:
            made: Phrase = make(found)
            if made == text:  # exactly the same English: nothing is lost
                return made
    return text


def _with_phrased_params(message: str) -> str:
    if not isinstance(message, Phrase):
        return rephrase(message)
    params = {k: rephrase(v) if isinstance(v, str) else v for k, v in message.params.items()}
    if all(params[k] is message.params[k] for k in params):
        return message
    return Phrase(message.template, params)


def finding_text(message_id: str | None, params: Mapping[str, Any] | None, message: str,
                 lang: str) -> str:  # fmt: skip
    """A finding's message (``message_id`` and ``params`` of its JSON, ``message`` in
    English) in ``lang``, the declaration sources and constraint texts in it included."""
    return say(_with_phrased_params(phrase_from_json(message_id, params, message)), lang)
