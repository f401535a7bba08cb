"""The English text of a phrase is the same whether or not it is made by the fast path.

Source: csbm.i18n (a Phrase *is* the English text the engine always gave); issue 10's
performance constraint (10⁵ findings in a replay: a phrase whose parameters are plain text
and numbers is formatted by ``str.format``, the others by the phrase formatter).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from csbm.i18n import Phrase, _Formatter, phrase
from csbm.procedures.runner import replay


def _slow(template: str, params: dict[str, Any]) -> str:
    return _Formatter(None).format(template, **params)


@pytest.mark.parametrize(("template", "params"), [
    ("{what!t} due {due} was missed ({note})", {"what": "prior notification",
                                               "due": "2014-08-13T00:00:00Z", "note": "x"}),
    ("{name!t} {value:,} is {below:,} ({share:.1%}) below the {word!t} threshold {limit:,}",
     {"name": "troops", "value": 12700, "below": 300, "share": 0.023, "word": "notification",
      "limit": 13000}),
    ("lasts {hours:g} h: not {cmp} {limit:g} h", {"hours": 48.0, "cmp": ">", "limit": 72}),
    ("{{literal}} {a!r} and {b!s:>6}", {"a": "x", "b": "y"}),
    ("{n:{width}}", {"n": 5, "width": 4}),
    ("no fields at all", {}),
    ("{note}", {"note": None}),  # None: shown as nothing (the phrase formatter)
    ("{states:or}", {"states": ["PL", "LT", "LV"]}),  # a list joined
    ("{states}", {"states": ("PL", "LT")}),
    ("{inner} then", {"inner": phrase("{a:,}", a=1000)}),  # a phrase as a parameter
    ("{flag}", {"flag": True}),
    ("{head}; {period}", {"head": phrase("{a!t}", a="x"), "period": phrase("{n:,}", n=2000)}),
    ("[{inner:>12}]", {"inner": phrase("{a}", a="padded")}),  # a format on a phrase
])
def test_the_english_text_is_the_phrase_formatters(template: str,
                                                   params: dict[str, Any]) -> None:
    made = Phrase(template, params)
    assert str(made) == _slow(template, params)
    assert made.template == template and made.params == params


@pytest.mark.parametrize(("template", "params", "error"), [
    ("{missing}", {}, KeyError),
    ("{0}", {}, (IndexError, ValueError)),
    ("a } alone", {}, ValueError),
    ("{x:or}", {"x": "not a list"}, ValueError),
])
def test_a_bad_template_fails_as_before(template: str, params: dict[str, Any],
                                        error: Any) -> None:
    with pytest.raises(error):
        Phrase(template, params)
    with pytest.raises(error):
        _slow(template, params)


def test_every_phrase_of_a_synthetic_year_reads_as_the_phrase_formatter_makes_it() -> None:
    from bench.bench_replay import synthetic_year

    from csbm.procedures.scenario import scenario_from_data

    scenario = scenario_from_data({"events": synthetic_year(2000, seed=5, notifications=0.4)})
    result = replay(scenario.events, scenario.context, datetime(2022, 1, 1, tzinfo=UTC))
    texts: list[Phrase] = [f.message for f in result.findings if isinstance(f.message, Phrase)]
    texts += [d.note for c in result.cases for d in c.deadlines if isinstance(d.note, Phrase)]
    assert len(texts) > 100
    for text in texts:
        assert str(text) == _slow(text.template, text.params)
