"""The typed results of the services and their one JSON form.

Source: DESIGN.md, layout (``services/``: typed results with one JSON form that the CLI
prints and the API returns) and principle 4 (instants are UTC). Every instant in a document
is written by :func:`csbm.domain.time.iso` (``2022-02-09T10:00:00Z``): one format in every
output. ``Owed`` is the one shape of "what someone owes by when", for a procedure's
deadline (:class:`csbm.procedures.base.Deadline`) and for an assessment's obligation
(:class:`csbm.rules.model.Obligation`) alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer
from pydantic_core import to_json

from csbm.domain.time import iso, plain
from csbm.i18n import phrase_from_json, phrase_json, say
from csbm.procedures.base import Deadline, Finding, HistoryEntry, QuotaView
from csbm.rules.model import Obligation

_INDENTED = orjson.OPT_INDENT_2 | orjson.OPT_UTC_Z


def indented_json(value: Any) -> bytes:
    """``value`` as JSON text in UTF-8 indented by two spaces, the text of
    ``json.dumps(value, indent=2, ensure_ascii=False)`` and of a document's serializer
    (UTC instants with ``Z``): orjson's, twice as fast as pydantic's encoder; a value orjson
    does not take (an integer past 64 bits, a key that is not text) by pydantic's encoder,
    which writes it as the document's serializer does (a non-finite number as null)."""
    try:
        return orjson.dumps(value, option=_INDENTED)
    except orjson.JSONEncodeError:
        return to_json(value, indent=2, inf_nan_mode="null")


def member_items(name: str, items: list[Any]) -> bytes:
    """The items of a non-empty list that is the member ``name`` of a document, as
    :func:`indented_json` writes them at their depth (four spaces in, no brackets): dumped
    inside ``{name: items}`` and cut out, so that no text is indented again. The large
    outputs (``csbm assess --json``, ``csbm replay --json``) write their lists so, a batch
    at a time."""
    text = indented_json({name: items})
    head = len(b'{\n  "": [\n') + len(name.encode("utf-8"))
    return text[head : -len(b"\n  ]\n}")]


Instant = Annotated[datetime, PlainSerializer(iso, return_type=str)]
"""An aware datetime, serialised as ISO 8601 UTC with ``Z`` by :func:`iso`."""


def instant_data(at: datetime | None) -> Any:
    """An :data:`Instant` for pydantic's encoder (``pydantic_core.to_json``), which then
    writes the text :func:`iso` gives: the instant itself when the encoder writes it so
    (UTC, whole seconds, a four-digit year: ``2017-08-03T00:00:00Z``), else that text,
    formatted directly for a UTC instant (three times faster than ``isoformat``, which
    asks the zone for its offset); None as None."""
    if at is None:
        return None
    if at.tzinfo is UTC:
        if at.microsecond == 0 and at.year >= 1000 and type(at) is datetime:
            return at
        return _UTC_TEXT % (at.year, at.month, at.day, at.hour, at.minute, at.second)
    return iso(at)


_UTC_TEXT = "%04d-%02d-%02dT%02d:%02d:%02dZ"
""":func:`iso`'s text of a UTC instant (fractions of a second cut, as it does)."""

_SCALARS = frozenset({str, int, float, bool, type(None)})


def json_data(value: Any) -> Any:
    """:func:`plain` for pydantic's encoder: what it gives once encoded, made with less
    work (instants by :func:`instant_data`, tuples left as they are when they hold only
    scalars: the encoder writes them as lists); anything else as :func:`plain` has it."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:
        return {
            k if type(k) is str else str(k): v if type(v) in _SCALARS else json_data(v)
            for k, v in value.items()
        }
    if kind is list or kind is tuple:
        return [v if type(v) in _SCALARS else json_data(v) for v in value]
    if kind is datetime:
        return instant_data(value)
    return plain(value)


class Document(BaseModel):
    """A service result. :meth:`to_json` is its one JSON form."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class Owed(Document):
    """What someone owes by when, and where it stands: a procedure's deadline or an
    assessment's obligation, in one shape. ``kind`` is the obligation's kind (None for a
    deadline); ``met_at`` when it was done (None for an obligation: not known to it);
    ``triggered_by`` the activities that gave rise to an obligation."""

    rule: str
    paragraph: str | None
    pack: str | None
    title: str | None = None
    kind: str | None = None
    due: Instant | None
    status: str
    met_at: Instant | None = None
    owed_by: list[str]
    owed_to: list[str]
    triggered_by: list[str] = Field(default_factory=list)
    note: str | None = None
    note_id: str | None = None
    """The note's template (its id in the catalogues); ``note`` is it in English."""
    note_params: dict[str, Any] = Field(default_factory=dict)

    def note_text(self, lang: str) -> str:
        """The note in ``lang`` (empty when there is none)."""
        return say(phrase_from_json(self.note_id, self.note_params, self.note or ""), lang)

    @classmethod
    def of_deadline(cls, d: Deadline) -> Owed:
        note_id, note_params = phrase_json(d.note)
        return cls(
            rule=d.rule,
            paragraph=d.paragraph,
            pack=d.pack,
            title=d.title,
            due=d.due,
            status=d.status,
            met_at=d.met_at,
            owed_by=list(d.owed_by),
            owed_to=list(d.owed_to),
            note=d.note,
            note_id=note_id,
            note_params=note_params,
        )

    @staticmethod
    def deadline_data(d: Deadline) -> dict[str, Any]:
        """``Owed.of_deadline(d).to_json()`` as data for pydantic's encoder, built directly
        (the same keys in the same order; tuples, phrases and instants left to the encoder,
        which writes them as the document does)."""
        note_id, note_params = phrase_json(d.note)
        return {
            "rule": d.rule,
            "paragraph": d.paragraph,
            "pack": d.pack,
            "title": d.title,
            "kind": None,
            "due": instant_data(d.due),
            "status": d.status,
            "met_at": instant_data(d.met_at),
            "owed_by": d.owed_by,
            "owed_to": d.owed_to,
            "triggered_by": [],
            "note": d.note,
            "note_id": note_id,
            "note_params": note_params,
        }

    @classmethod
    def of_obligation(cls, ob: Obligation) -> Owed:
        note_id, note_params = phrase_json(ob.note)
        return cls(
            rule=ob.rule,
            paragraph=ob.paragraph,
            pack=ob.pack,
            kind=ob.kind,
            due=ob.due,
            status=ob.status,
            owed_by=list(ob.owed_by),
            owed_to=[ob.owed_to] if ob.owed_to else [],
            triggered_by=list(ob.triggered_by),
            note=ob.note,
            note_id=note_id,
            note_params=note_params,
        )


class FindingDocument(Document):
    kind: str
    message: str
    case: str | None
    at: Instant | None
    rule: str | None
    paragraph: str | None
    seq: int | None
    states: list[str]
    message_id: str | None = None
    """The message's template (its id in the catalogues): ``message`` is it in English;
    a client renders it in another language from the id and ``params`` (csbm.i18n)."""
    params: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(cls, f: Finding) -> FindingDocument:
        message_id, params = phrase_json(f.message)
        return cls(kind=f.kind, message=str(f.message), case=f.case, at=f.at, rule=f.rule,
                   paragraph=f.paragraph, seq=f.seq, states=list(f.states),
                   message_id=message_id, params=params)  # fmt: skip

    @staticmethod
    def data(f: Finding) -> dict[str, Any]:
        """``FindingDocument.of(f).to_json()`` as data for pydantic's encoder."""
        message_id, params = phrase_json(f.message)
        return {
            "kind": f.kind,
            "message": str(f.message),
            "case": f.case,
            "at": instant_data(f.at),
            "rule": f.rule,
            "paragraph": f.paragraph,
            "seq": f.seq,
            "states": f.states,
            "message_id": message_id,
            "params": params,
        }

    def text(self, lang: str) -> str:
        """The message in ``lang``."""
        return say(phrase_from_json(self.message_id, self.params, self.message), lang)


class QuotaDocument(Document):
    rule: str
    paragraph: str | None
    pack: str | None
    state: str
    year: int
    limit: int | None
    used: int
    remaining: int | None
    counterpart: str | None
    note: str | None
    note_id: str | None = None
    """The note's template (its id in the catalogues); ``note`` is it in English."""
    note_params: dict[str, Any] = Field(default_factory=dict)
    details: dict[str, Any]

    @classmethod
    def of(cls, q: QuotaView) -> QuotaDocument:
        note_id, note_params = phrase_json(q.note)
        return cls(rule=q.rule, paragraph=q.paragraph, pack=q.pack, state=q.state, year=q.year,
                   limit=q.limit, used=q.used, remaining=q.remaining, counterpart=q.counterpart,
                   note=q.note, note_id=note_id, note_params=note_params,
                   details=plain(q.details))  # fmt: skip

    @staticmethod
    def data(q: QuotaView) -> dict[str, Any]:
        """``QuotaDocument.of(q).to_json()`` as data for pydantic's encoder."""
        note_id, note_params = phrase_json(q.note)
        return {
            "rule": q.rule,
            "paragraph": q.paragraph,
            "pack": q.pack,
            "state": q.state,
            "year": q.year,
            "limit": q.limit,
            "used": q.used,
            "remaining": q.remaining,
            "counterpart": q.counterpart,
            "note": q.note,
            "note_id": note_id,
            "note_params": note_params,
            "details": json_data(q.details),
        }

    def note_text(self, lang: str) -> str:
        """The note in ``lang`` (empty when there is none)."""
        return say(phrase_from_json(self.note_id, self.note_params, self.note or ""), lang)


class HistoryDocument(Document):
    at: Instant
    seq: int
    type: str
    sender: str = Field(alias="from")
    recipients: list[str] = Field(alias="to")
    accepted: bool
    reason: str | None
    reason_id: str | None = None
    """The refusal reason's template (its id in the catalogues); ``reason`` is it in
    English."""
    reason_params: dict[str, Any] = Field(default_factory=dict)
    body: dict[str, Any]

    def reason_text(self, lang: str) -> str:
        """The refusal reason in ``lang`` (empty for an accepted message)."""
        return say(phrase_from_json(self.reason_id, self.reason_params, self.reason or ""), lang)

    @classmethod
    def of(cls, h: HistoryEntry) -> HistoryDocument:
        reason_id, reason_params = phrase_json(h.reason)
        return cls.model_validate(
            {
                "at": h.at,
                "seq": h.seq,
                "type": h.type,
                "from": h.sender,
                "to": list(h.recipients),
                "accepted": h.accepted,
                "reason": h.reason,
                "reason_id": reason_id,
                "reason_params": reason_params,
                "body": plain(h.body),
            }
        )

    @staticmethod
    def data(h: HistoryEntry, body_is_json: bool = False) -> dict[str, Any]:
        """``HistoryDocument.of(h).to_json()`` as data for pydantic's encoder.
        ``body_is_json``: the body is known to be JSON data already (a validated message's
        body, ``model_dump(mode="json")``), handed to the encoder as it is; else converted
        by :func:`json_data`."""
        reason = h.reason
        reason_id: str | None = None
        reason_params: dict[str, Any] = {}
        if reason is not None:  # most entries are accepted messages, without one
            reason_id, reason_params = phrase_json(reason)
        body: Mapping[str, Any] = h.body if body_is_json else json_data(h.body)
        return {
            "at": instant_data(h.at),
            "seq": h.seq,
            "type": h.type,
            "from": h.sender,
            "to": h.recipients,
            "accepted": h.accepted,
            "reason": reason,
            "reason_id": reason_id,
            "reason_params": reason_params,
            "body": body,
        }


class RefusedEntry(Document):
    """A log entry whose message a schema refuses: shown with its reason, never applied
    (issue 9: a message already in a log that a later schema refuses is shown as
    refused, never a traceback)."""

    index: int
    message_id: str
    sender: str
    kind: str
    reason: str
