"""The configuration of ``csbm serve``: the data directory, then environment variables,
then command-line flags, each overriding the one before (issue 11, item 1).

=================  ======================  ==================  =========================
setting            config.json "serve"     environment         flag
=================  ======================  ==================  =========================
host               ``host``                ``CSBM_HOST``       ``--host`` (127.0.0.1)
port               ``port``                ``CSBM_PORT``       ``--port`` (8470)
clock skew (s)     ``skew_seconds``        ``CSBM_SKEW``       ``--skew`` (300)
first retry (s)    ``retry_base``          ``CSBM_RETRY_BASE`` ``--retry-base`` (0.25)
longest retry (s)  ``retry_cap``           ``CSBM_RETRY_CAP``  ``--retry-cap`` (30)
worker poll (s)    ``poll``                ``CSBM_POLL``       ``--poll`` (1)
map at start       ``warm_map``            ``CSBM_WARM_MAP``   ``--warm-map/--lazy-map``
                                                               (warm)
=================  ======================  ==================  =========================

The worker poll is the longest an idle delivery worker sleeps: how soon it sees a message
queued by another process (``csbm send`` from the shell while the server runs). Messages
queued through the server itself (the API, the pages) wake it at once, and it wakes when
a retry falls due, so an idle node costs next to nothing.

The map's geography (seconds of CPU: the borders, the zone of application, the border
zones) is loaded in the background when the server starts, so that the first map page and
the first replay of a message with an area do not wait for it. ``--lazy-map`` (``false``)
loads it at the first page instead: for many nodes on one machine that only exchange
messages (the network benchmark).

The data directory itself is ``--data``, else ``$CSBM_DATA``, else ``./.csbm``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from csbm.errors import InputError, Problem
from csbm.node import CONFIG_NAME, data_dir

DEFAULT_PORT = 8470

#: setting -> (config.json key, environment variable, flag, kind, low, high)
FIELDS: dict[str, tuple[str, str, str, type, float, float]] = {
    "host": ("host", "CSBM_HOST", "--host", str, 0, 0),
    "port": ("port", "CSBM_PORT", "--port", int, 1, 65535),
    "skew_seconds": ("skew_seconds", "CSBM_SKEW", "--skew", float, 1, 86400),
    "retry_base": ("retry_base", "CSBM_RETRY_BASE", "--retry-base", float, 0.001, 3600),
    "retry_cap": ("retry_cap", "CSBM_RETRY_CAP", "--retry-cap", float, 0.001, 86400),
    "poll": ("poll", "CSBM_POLL", "--poll", float, 0.005, 60),
    "warm_map": ("warm_map", "CSBM_WARM_MAP", "--warm-map/--lazy-map", bool, 0, 0),
}

_YES = frozenset({"1", "true", "yes", "on"})
_NO = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class Settings:
    """What one ``csbm serve`` process runs with."""

    data: Path
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    skew_seconds: float = 300.0
    retry_base: float = 0.25
    retry_cap: float = 30.0
    poll: float = 1.0
    warm_map: bool = True
    worker: bool = True


def _value(name: str, raw: Any, where: str) -> Any:
    _key, _env, _flag, kind, low, high = FIELDS[name]
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        word = raw.strip().lower() if isinstance(raw, str) else None
        if word in _YES or word in _NO:
            return word in _YES
        raise InputError("bad setting", [Problem(where, "true or false", str(raw))])
    if kind is str:
        if not isinstance(raw, str) or not raw.strip():
            raise InputError("bad setting", [Problem(where, "a host name or address", raw)])
        return raw.strip()
    try:
        if isinstance(raw, bool):
            raise ValueError
        number = kind(raw)
    except (TypeError, ValueError):
        raise InputError(
            "bad setting", [Problem(where, f"a {kind.__name__} number", str(raw))]
        ) from None
    if not low <= number <= high:
        raise InputError(
            "bad setting", [Problem(where, f"between {low:g} and {high:g}", str(raw))]
        )
    return number


def load_settings(
    data: Path | None,
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """The settings of the node in ``data``: its ``config.json`` ``serve`` section, then
    the environment, then ``flags`` (None values are not given)."""
    directory = data_dir(data)
    settings = Settings(data=directory)
    environ = os.environ if env is None else env
    path = directory / CONFIG_NAME
    file_values: Mapping[str, Any] = {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        serve = doc.get("serve", {}) if isinstance(doc, dict) else {}
        file_values = serve if isinstance(serve, dict) else {}
    except (OSError, ValueError):
        file_values = {}
    for name, (key, env_name, flag, _kind, _lo, _hi) in FIELDS.items():
        if key in file_values:
            settings = replace(
                settings, **{name: _value(name, file_values[key], f"{path}: serve.{key}")}
            )
        if environ.get(env_name):
            settings = replace(settings, **{name: _value(name, environ[env_name], env_name)})
        given = (flags or {}).get(name)
        if given is not None:
            settings = replace(settings, **{name: _value(name, given, flag)})
    if settings.retry_cap < settings.retry_base:
        raise InputError(
            "bad setting",
            [Problem("--retry-cap", "at least the first retry delay", str(settings.retry_cap))],
        )
    return settings
