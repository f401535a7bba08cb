"""The public cases the live demo sends, and the States it runs a node for.

Source: issue 12, item 4 ("loaded by sending the public 2017–2022 cases: calendars and
notifications of Zapad-2017 and Union Resolve 2022, the Chapter III cases of 2021–22");
the cases are the bundled example scenarios, whose comments give their public sources
(public-cases.md, copied into each file) and mark the synthetic clock times (S):

- ``zapad-2017-notified.yaml`` — Belarus's 2017 calendar entry and its notification of
  Zapad-2017, to all (through the hub);
- ``belarus-ukraine-2021.yaml`` — Belarus → Ukraine, ¶17, December 2021;
- ``baltic-belarus-2022.yaml`` — Lithuania (for LT, LV, EE) → Belarus on Union Resolve
  2022, Chapter III ¶16 to the joint FSC–PC meeting;
- ``ukraine-russia-2022.yaml`` — Ukraine → Russia, Chapter III, February 2022.

Union Resolve 2022 was neither in a calendar nor notified (Belarus and Russia said it
stayed below the Vienna Document parameters, public-cases.md §3): no calendar entry or
notification of it exists to send, and none is invented; it travels as the subject of the
Baltic States' Chapter III case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from csbm.errors import InputError, Problem
from csbm.message import Message, from_event
from csbm.procedures.base import ALL
from csbm.procedures.scenario import load_scenario

#: The States with a node, in the order their ports are given (after the hub's).
STATES: tuple[str, ...] = ("UA", "BY", "RU", "LT", "LV", "EE", "PL")

#: The scenario files sent, from the examples folder.
CASE_FILES: tuple[str, ...] = (
    "zapad-2017-notified.yaml",
    "belarus-ukraine-2021.yaml",
    "baltic-belarus-2022.yaml",
    "ukraine-russia-2022.yaml",
)


@dataclass(frozen=True)
class DemoMessage:
    """One message of a public case: who sends it, when (the historical instant), what."""

    at: datetime
    sender: str
    message: Message
    source: str

    @property
    def recipients(self) -> list[str]:
        """The States whose receipts complete it: the addressees, or every other node."""
        if ALL in self.message.to:
            return [s for s in STATES if s != self.sender]
        return [s for s in self.message.to if s != self.sender]


def demo_messages(examples: Path, files: Sequence[str] = CASE_FILES) -> list[DemoMessage]:
    """The messages of the cases in ``files`` (under ``examples``), in time order (ties in
    file order). Every sender and addressee must be one of :data:`STATES`."""
    found: list[tuple[datetime, int, int, DemoMessage]] = []
    problems: list[Problem] = []
    for number, name in enumerate(files):
        scenario = load_scenario(examples / name)
        for i, event in enumerate(scenario.events):
            where = f"{examples / name}: events[{i}]"
            for code in (event.sender, *event.recipients):
                if code != ALL and code not in STATES:
                    problems.append(Problem(where, f"no demo node for {code}", code))
            message = from_event(event)
            found.append((event.at, number, i, DemoMessage(event.at, event.sender, message, name)))
    if problems:
        raise InputError("a case outside the demo network", problems)
    return [m for *_key, m in sorted(found, key=lambda t: t[:3])]
