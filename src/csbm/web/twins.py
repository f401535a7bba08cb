"""The JSON twin of every page of the workbench: the same service document, through the
API's authentication (Bearer token or Basic password) and roles.

Source: issue 12, item 1 ("every page has a JSON twin in the API"). A page and its twin
call the same service function with the same parameters; ``zone`` names the IANA zone
of the ``due_local`` times (default UTC); paging is ``limit`` and ``offset``.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request

from csbm.accounts.policy import Action
from csbm.accounts.records import Account
from csbm.api.auth import clock_of, node_of, require_action
from csbm.errors import InputError, Problem
from csbm.node import Node
from csbm.projection import node_context
from csbm.services.calendar import CalendarDocument, calendar
from csbm.services.cases import ProceduresDocument, procedures
from csbm.services.compose import PreviewDocument, preview
from csbm.services.map import MapDocument, activity_map
from csbm.services.record import RecordDocument, record
from csbm.services.today import TodayDocument, today
from csbm.web.pages import zone_of
from csbm.web.replays import projection

router = APIRouter(prefix="/api/v1/workbench", tags=["workbench"])

_PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: {"description": "A bad parameter (problem+json)"},
    401: {"description": "No or bad credentials (problem+json)"},
    403: {"description": "The account's role does not allow it (problem+json)"},
}
#: The twins of the pages that show the projection of the log (csbm.web.replays).
_PROJECTED: dict[int | str, dict[str, Any]] = {
    **_PROBLEMS,
    500: {"description": "The replay of the node's log failed (problem+json, code "
                         "web.replay_failed)"},
    503: {"description": "The view of the log is being built (the server has just started): "
                         "problem+json with code web.not_ready and the replay's progress; ask "
                         "again after Retry-After seconds"},
}  # fmt: skip

NodeDep = Annotated[Node, Depends(node_of)]
ClockDep = Annotated[datetime, Depends(clock_of)]
Reader = Annotated[Account, Depends(require_action(Action.READ_LOG))]
Auditor = Annotated[Account, Depends(require_action(Action.AUDIT))]
Drafter = Annotated[Account, Depends(require_action(Action.DRAFT))]
Offset = Annotated[int, Query(ge=0, le=2**53)]
Limit = Annotated[int, Query(ge=1, le=500)]


def _zone(raw: str | None) -> tzinfo:
    if raw is None or raw == "":
        return UTC
    zone = zone_of(raw)
    if zone is None:
        raise InputError("unknown time zone", [Problem("zone", "an IANA time zone name", raw[:64])])
    return zone


@router.get("/today", responses=_PROJECTED)
def today_twin(
    request: Request, _account: Reader, node: NodeDep, at: ClockDep, zone: str | None = None,
    offset: Offset = 0, limit: Limit = 50, received_offset: Offset = 0,
    received_limit: Limit = 20, sent_offset: Offset = 0, sent_limit: Limit = 20,
) -> TodayDocument:  # fmt: skip
    """The *Today* page's document."""
    made = projection(request.app.state, node, at)
    return today(node, made.value, at, _zone(zone), offset=offset, limit=limit,
                 received_offset=received_offset, received_limit=received_limit,
                 sent_offset=sent_offset, sent_limit=sent_limit, log_size=made.size)  # fmt: skip


@router.get("/map", responses=_PROJECTED)
def map_twin(
    request: Request, _account: Reader, node: NodeDep, at: ClockDep,
    year: Annotated[int | None, Query(ge=1900, le=2999)] = None, state: str | None = None,
) -> MapDocument:  # fmt: skip
    """The *Map* page's document (the borders: ``/web/geo/borders.json``)."""
    made = projection(request.app.state, node, at)
    return activity_map(made.value, node_context().packs, year=year, state=state,
                        log_size=made.size)  # fmt: skip


@router.get("/calendar", responses=_PROJECTED)
def calendar_twin(
    request: Request, _account: Reader, node: NodeDep, at: ClockDep,
    year: Annotated[int | None, Query(ge=1900, le=2999)] = None, state: str | None = None,
) -> CalendarDocument:  # fmt: skip
    """The *Calendar* page's document (default year: the clock's)."""
    made = projection(request.app.state, node, at)
    return calendar(made.value, node_context().packs, year or at.year, state,
                    log_size=made.size)  # fmt: skip


@router.get("/procedures", responses=_PROJECTED)
def procedures_twin(
    request: Request, _account: Reader, node: NodeDep, at: ClockDep, zone: str | None = None,
    procedure: str | None = None, party: str | None = None, offset: Offset = 0,
    limit: Limit = 20, quotas_offset: Offset = 0, quotas_limit: Limit = 50,
) -> ProceduresDocument:  # fmt: skip
    """The *Procedures* page's document."""
    made = projection(request.app.state, node, at)
    return procedures(made.value, _zone(zone), procedure=procedure, party=party,
                      offset=offset, limit=limit, quotas_offset=quotas_offset,
                      quotas_limit=quotas_limit, log_size=made.size)  # fmt: skip


@router.get("/record", responses=_PROBLEMS)
def record_twin(
    _account: Auditor, node: NodeDep, at: ClockDep, offset: Offset = 0, limit: Limit = 50,
    proof_of: Annotated[int | None, Query(ge=0, le=2**53)] = None, audit: bool = False,
) -> RecordDocument:  # fmt: skip
    """The *Record* page's document (auditors)."""
    return record(node, at, offset=offset, limit=limit, proof_of=proof_of, audit=audit)


@router.post("/compose/check", responses=_PROBLEMS)
def compose_twin(
    _account: Drafter, node: NodeDep, at: ClockDep,
    message: Annotated[dict[str, Any], Body(description="A message {type, to, case, body}.")],
) -> PreviewDocument:  # fmt: skip
    """The composer's live check: problems with their paths, or deadlines and findings.
    Nothing is stored."""
    return preview(node, message, at)
