"""quick_init: the ``__init__`` it gives a frozen slotted dataclass makes the record the
dataclass's own ``__init__`` makes (every class of csbm that uses it)."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from csbm.domain.records import quick_init

MODULES = [
    "csbm.domain.time",
    "csbm.message",
    "csbm.procedures._cycle",
    "csbm.procedures.attache_visit",
    "csbm.procedures.base",
    "csbm.procedures.evaluation",
    "csbm.procedures.hotline",
    "csbm.procedures.incident",
    "csbm.procedures.inspection",
    "csbm.procedures.observation",
    "csbm.procedures.prior_notification",
    "csbm.procedures.unusual_activity",
    "csbm.procedures.visit",
    "csbm.rules.constraints",
    "csbm.rules.model",
    "csbm.rules.obligations",
]


def _quick_classes() -> list[type]:
    found = []
    for name in MODULES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (isinstance(value, type) and value.__module__ == name
                    and hasattr(vars(value).get("__init__"), "__dataclass_init__")):
                found.append(value)
    return found


QUICK = _quick_classes()


def test_the_records_of_a_replay_use_it() -> None:
    names = {c.__qualname__ for c in QUICK}
    assert {"Event", "HistoryEntry", "Deadline", "Finding", "CaseView", "Obligation",
            "ActivityAssessment", "NotificationState", "Checked", "ParsedInstant",
            "ThresholdTest"} <= names


def _sample(f: dataclasses.Field[object], i: int) -> object:
    return (f.name, i, datetime(2021, 1, 1 + i, tzinfo=UTC))


@pytest.mark.parametrize("cls", QUICK, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_same_record_as_the_dataclass_init(cls: type) -> None:
    original = vars(cls)["__init__"].__dataclass_init__
    fields = dataclasses.fields(cls)
    # the same signature (names, kinds, plain defaults)
    quick_params = list(inspect.signature(vars(cls)["__init__"]).parameters.values())
    plain_params = list(inspect.signature(original).parameters.values())
    assert [p.name for p in quick_params] == [p.name for p in plain_params]
    assert [p.kind for p in quick_params] == [p.kind for p in plain_params]
    for f, p in zip(fields, quick_params[1:], strict=True):
        if f.default is not dataclasses.MISSING:
            assert p.default is f.default
    required = [f for f in fields
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    # only the required fields (defaults and factories), then every field by keyword
    for values in ({f.name: _sample(f, i) for i, f in enumerate(required)},
                   {f.name: _sample(f, i) for i, f in enumerate(fields)}):
        quick = cls(**values)
        plain: object = object.__new__(cls)
        original(plain, **values)
        for f in fields:
            assert getattr(quick, f.name) == getattr(plain, f.name), f.name
            if f.default_factory is not dataclasses.MISSING and f.name not in values:
                assert getattr(quick, f.name) is not getattr(cls(**values), f.name)
        assert quick == plain and repr(quick) == repr(plain)
        if all(f.name in values for f in fields):
            positional = cls(*values.values())
            assert positional == plain
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(cls(**{f.name: _sample(f, i) for i, f in enumerate(required)}),
                fields[0].name, None)
    with pytest.raises(TypeError):
        cls(**{f.name: 1 for f in required}, no_such_field=1)
    if required:
        with pytest.raises(TypeError):
            cls()


def test_what_it_leaves_to_dataclasses() -> None:
    @dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclass(slots=True)
    class NotFrozen:
        a: int

    @dataclass(frozen=True, slots=True)
    class PostInit:
        a: int

        def __post_init__(self) -> None:
            pass

    @dataclass(frozen=True, slots=True)
    class NotInInit:
        a: int
        b: int = field(default=0, init=False)

    @dataclass(frozen=True, slots=True, kw_only=True)
    class KeywordOnly:
        a: int

    for cls in (NoSlots, NotFrozen, PostInit, NotInInit, KeywordOnly):
        before = vars(cls)["__init__"]
        assert vars(quick_init(cls))["__init__"] is before


def test_a_default_factory_called_each_time() -> None:
    @quick_init
    @dataclass(frozen=True, slots=True)
    class Holder:
        a: int
        items: list[int] = field(default_factory=list)

    assert hasattr(vars(Holder)["__init__"], "__dataclass_init__")
    one, two = Holder(1), Holder(2)
    assert one.items == [] and one.items is not two.items
    given = [1]
    assert Holder(1, given).items is given
