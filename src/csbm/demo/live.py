"""The live demo network: a hub and a node per State, each its own ``csbm serve`` process
and SQLite database on 127.0.0.1, loaded by sending the public cases through the real
exchange, served until Ctrl-C.

Source: issue 12, item 4; the exchange is docs/network.md's, the accounts docs/accounts.md's.

What :func:`run` does, in order (each step is what an operator does with the commands):

1. **Nodes** (``csbm init --state XX``, ``csbm init --hub``): one data directory each
   under the demo folder (``UA/``, ``BY/``, …, ``hub/``), its key and its SQLite log.
2. **Accounts** (``csbm user add``): on each node a signing officer, a drafter and a
   reader (``ua-officer``, ``ua-drafter``, ``ua-reader``) with random passwords (16
   characters), kept in the folder's ``demo.json`` (mode 0600) and printed.
3. **Servers** (``csbm serve --data DIR --host 127.0.0.1 --port N --exit-with-parent``,
   whatever ``CSBM_HOST`` says): one process each,
   in its own session (Ctrl-C reaches the demo, which stops each server by SIGTERM in
   turn); ``--exit-with-parent`` ends a server whose demo died without stopping it.
4. **Peers** (``csbm peer add STATE URL --fingerprint FP``): every node pins every other
   node and the hub; the hub registers every node — each key fetched from
   ``/.well-known/csbm`` over HTTP and refused unless its fingerprint is the one read from
   the other node's key (``csbm keys show``).
5. **The public cases** (``csbm send``): each message, in time order, is signed, logged and
   queued by its sender's node (:func:`csbm.services.send.queue`, the use case of
   ``csbm send``); that node's server delivers it over HTTP (to all: through the hub); the
   next message is sent only when every receipt of this one is back in the sender's log.

**The historical instants.** A message of February 2022 must be signed as of February
2022: its deadlines run from that instant. The demo does not add a clock option to any
command (one that could back-date a real message); it runs steps 1, 4 and 5 through the
same services the commands call, with the node's clock set per step: the nodes and their
pins are made one day before the first message (a key is valid only from the instant it
is made or pinned, so a 2017 message needs a key valid in 2017), and each message is
signed at its scenario instant. Everything the servers do — deliveries, request
signatures, receipts — runs on the wall clock, so the receipts of the historical messages
are dated today, and a message a user sends from a workbench is dated now.

A restarted demo (the folder's ``demo.json`` says it is loaded) starts the servers again
on the same ports and sends nothing; ``reset`` removes a demo folder and builds it anew.
A folder that is not a demo folder is never written into nor removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType

import httpx

from csbm.accounts.policy import Role
from csbm.demo.cases import STATES, DemoMessage, demo_messages
from csbm.errors import CsbmError, InputError, Problem
from csbm.hub import HUB, Hub, init_hub
from csbm.i18n import _
from csbm.node import Node, init_node
from csbm.services.clock import wall_clock

LAYOUT = "demo.json"
"""The demo folder's description: ports, accounts, whether the cases were sent."""

ROLES: tuple[tuple[str, Role], ...] = (
    ("officer", Role.SIGNING_OFFICER),
    ("drafter", Role.DRAFTER),
    ("reader", Role.READER),
)
"""The accounts of each node: ``<state>-<suffix>`` with that role."""

DEFAULT_PORT_BASE = 8470
"""The hub listens here, the nodes on the next ports in :data:`STATES` order."""

SERVE_FLAGS: tuple[str, ...] = ("--poll", "0.05", "--retry-base", "0.1", "--retry-cap", "2")
"""Quick retries: on one machine a receipt comes back in a fraction of a second."""

RECEIPT_TIMEOUT = 60.0
"""Seconds to wait for the receipts of one message while loading."""

Say = Callable[[str], None]


class DemoError(CsbmError):
    """The demo network could not be brought up (a server died, receipts never came)."""

    exit_code = 1


@dataclass(frozen=True)
class Login:
    name: str
    role: str
    password: str


@dataclass
class Layout:
    """What ``demo.json`` holds."""

    folder: Path
    ports: dict[str, int]
    logins: dict[str, list[Login]] = field(default_factory=dict)
    loaded: bool = False
    messages: int = 0

    @property
    def sites(self) -> list[str]:
        return [HUB, *STATES]

    def data(self, site: str) -> Path:
        return self.folder / site

    def url(self, site: str) -> str:
        return f"http://127.0.0.1:{self.ports[site]}"

    def save(self) -> None:
        doc = {
            "version": 1,
            "ports": self.ports,
            "logins": {
                s: [{"name": x.name, "role": x.role, "password": x.password} for x in logins]
                for s, logins in self.logins.items()
            },
            "loaded": self.loaded,
            "messages": self.messages,
        }
        path = self.folder / LAYOUT
        temporary = path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(doc, out, indent=2)
        temporary.replace(path)

    @classmethod
    def read(cls, folder: Path) -> Layout:
        from csbm.reader import read_document

        path = folder / LAYOUT
        doc = read_document(path, max_bytes=1024 * 1024)
        try:
            ports = {str(k): int(v) for k, v in doc["ports"].items()}
            logins = {
                str(s): [Login(str(x["name"]), str(x["role"]), str(x["password"])) for x in xs]
                for s, xs in doc["logins"].items()
            }
            layout = cls(folder, ports, logins, bool(doc["loaded"]), int(doc["messages"]))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InputError(
                "bad demo folder",
                [Problem(str(path), "not a demo description: csbm demo --reset", None)],
            ) from None
        if set(layout.ports) != set(layout.sites):
            raise InputError(
                "bad demo folder",
                [Problem(str(path), "made for other States: csbm demo --reset", None)],
            )
        return layout


# -- the folder and the ports, checked before anything is started


def _answers(url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(url + "/.well-known/csbm", timeout=0.5, trust_env=False).is_success
    return False


def _port_free(port: int) -> bool:
    """Whether a server can listen on ``port`` (as uvicorn binds: with SO_REUSEADDR, so a
    port a stopped demo left in TIME_WAIT is free)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _i in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _ports(port_base: int) -> dict[str, int]:
    sites = [HUB, *STATES]
    if port_base == 0:
        return dict(zip(sites, _free_ports(len(sites)), strict=True))
    if not 1024 <= port_base <= 65535 - len(sites):
        raise InputError(
            "bad port",
            [Problem("--port-base", f"from 1024 to {65535 - len(sites)}, or 0", port_base)],
        )
    return {site: port_base + i for i, site in enumerate(sites)}


def _check_ports(layout: Layout) -> None:
    for site in layout.sites:
        port = layout.ports[site]
        if _answers(layout.url(site)):
            raise InputError(
                "demo running",
                [Problem(str(layout.folder), f"a node answers on port {port}: is this demo "
                         "running already? Stop it first (Ctrl-C)", port)],
            )  # fmt: skip
        if not _port_free(port):
            raise InputError(
                "port in use",
                [Problem("--port-base", f"port {port} ({site}) is in use: choose another "
                         "base (0: any free ports)", port)],
            )  # fmt: skip


def prepare(folder: Path, *, reset: bool = False, port_base: int | None = None) -> Layout:
    """The demo folder's layout: read from ``demo.json`` (a restart), or new (``reset``
    removes a demo folder first). Refused, with nothing changed: a file, a folder that is
    not a demo folder, a demo whose loading did not finish (unless ``reset``), another
    ``port_base`` than the demo's, a port in use."""
    if folder.exists() and not folder.is_dir():
        raise InputError(
            "not a folder", [Problem("--data", "is a file, not a folder", str(folder))]
        )
    if any(p.exists() and not p.is_dir() for p in folder.parents):
        raise InputError(
            "not a folder", [Problem("--data", "lies under a file, not a folder", str(folder))]
        )
    described = (folder / LAYOUT).is_file()
    if folder.is_dir() and any(folder.iterdir()) and not described:
        raise InputError(
            "not a demo folder",
            [Problem("--data", f"holds files but no {LAYOUT}: not a demo folder (never "
                     "written into nor removed)", str(folder))],
        )  # fmt: skip
    if described:
        layout = Layout.read(folder)
        if reset:
            _check_ports(layout)  # never remove the folder of a demo that runs
            shutil.rmtree(folder)
        elif not layout.loaded:
            raise InputError(
                "demo incomplete",
                [Problem("--data", "the demo was stopped before the cases were sent: "
                         "csbm demo --reset", str(folder))],
            )  # fmt: skip
        else:
            if port_base is not None and port_base not in (0, layout.ports[HUB]):
                raise InputError(
                    "ports",
                    [Problem("--port-base", f"this demo runs from port {layout.ports[HUB]}: "
                             "csbm demo --reset to change it", port_base)],
                )  # fmt: skip
            _check_ports(layout)
            return layout
    layout = Layout(folder, _ports(DEFAULT_PORT_BASE if port_base is None else port_base))
    _check_ports(layout)
    return layout


# -- building

PASSWORD_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""Letters and digits without the look-alikes (l, I, O, 0, 1): copied by a double click."""


def _password(length: int = 16) -> str:
    """A random demo password: 16 of 57 symbols, about 93 bits (docs/accounts.md: 15 at
    least)."""
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _i in range(length))


def build(layout: Layout, start: datetime) -> None:
    """Make the hub and the nodes, dated ``start`` (``csbm init``)."""
    layout.folder.mkdir(parents=True, exist_ok=True)
    layout.save()  # first: the folder is a demo folder from now on (--reset removes it)
    init_hub(start, data=layout.data(HUB)).close()
    for state in STATES:
        init_node(state, start, data=layout.data(state)).close()


def add_accounts(layout: Layout, at: datetime) -> None:
    """On each node a signing officer, a drafter and a reader with random passwords
    (``csbm user add``), dated ``at``; kept in ``demo.json``."""
    from csbm.services.users import add_user

    for state in STATES:
        with Node.open(layout.data(state)) as node:
            logins = []
            for suffix, role in ROLES:
                login = Login(f"{state.lower()}-{suffix}", role.value, _password())
                add_user(node, login.name, role, at, "demo", password=login.password)
                logins.append(login)
            layout.logins[state] = logins
    layout.save()


def fingerprint(data: Path) -> str:
    """The fingerprint ``csbm keys show`` prints for the node (or hub) in ``data``."""
    from csbm.hub import is_hub

    site: Node | Hub = Hub.open(data) if is_hub(data) else Node.open(data)
    try:
        return site.key.fingerprint
    finally:
        site.close()


def pin_peers(layout: Layout, at: datetime) -> int:
    """Every node pins every other node and the hub, the hub registers every node, each by
    the fingerprint read from the other's key (``csbm peer add``); how many pins."""
    from csbm.exchange.http import well_known
    from csbm.services.peers import add_peer

    prints = {site: fingerprint(layout.data(site)) for site in layout.sites}
    pins = 0
    for state in STATES:
        with Node.open(layout.data(state)) as node:
            for other in layout.sites:
                if other != state:
                    add_peer(node, other, layout.url(other), prints[other], at, well_known)
                    pins += 1
    with Hub.open(layout.data(HUB)) as hub:
        for state in STATES:
            add_peer(hub, state, layout.url(state), prints[state], at, well_known)
            pins += 1
    return pins


def send_cases(
    layout: Layout,
    messages: Sequence[DemoMessage],
    say: Say,
    alive: Callable[[], None],
    timeout: float = RECEIPT_TIMEOUT,
) -> None:
    """Send each message from its sender's node at its historical instant, then wait until
    every receipt is back in the sender's log (``alive`` raises if a server died)."""
    from csbm.domain.time import iso
    from csbm.services.send import queue

    nodes = {state: Node.open(layout.data(state)) for state in STATES}
    try:
        for m in messages:
            node = nodes[m.sender]
            sent = queue(node, m.message, m.at)
            wanted = set(m.recipients)
            deadline = time.monotonic() + timeout
            while not wanted <= set(node.received_receipts(sent.message_id)):
                alive()
                if time.monotonic() > deadline:
                    rows = node.outbox_rows(sent.message_id)
                    errors = [r.last_error for r in rows if r.last_error]
                    missing = sorted(wanted - set(node.received_receipts(sent.message_id)))
                    raise DemoError(
                        f"no receipt from {', '.join(missing)} for {m.message.type} of "
                        f"{m.sender} in {timeout:.0f} s" + (f": {errors[-1]}" if errors else ""),
                        code="demo.no_receipt",
                    )
                time.sleep(0.05)
            to = "all" if "all" in m.message.to else ", ".join(m.message.to)
            say(
                _("{at}  {type} {sender} → {to} ({case}): {n} receipt(s)").format(
                    at=iso(m.at), type=m.message.type, sender=m.sender, to=to,
                    case=m.message.case or "-", n=len(wanted),
                )
            )  # fmt: skip
    finally:
        for node in nodes.values():
            node.close()


# -- the processes


@dataclass
class Running:
    site: str
    process: subprocess.Popen[bytes]
    log: Path


class Servers:
    """The ``csbm serve`` processes of the demo; :meth:`stop` ends each one."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.running: list[Running] = []

    def launch(self) -> None:
        """Start every server (not waiting for them: see :meth:`wait_ready`)."""
        for site in self.layout.sites:
            log = self.layout.folder / f"{site}.serve.log"
            argv = [
                sys.executable, "-m", "csbm", "serve", "--data", str(self.layout.data(site)),
                "--host", "127.0.0.1", "--port", str(self.layout.ports[site]),
                "--exit-with-parent", *SERVE_FLAGS,
            ]  # fmt: skip
            with log.open("ab") as out:
                process = subprocess.Popen(
                    argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )  # fmt: skip
            self.running.append(Running(site, process, log))

    def wait_ready(self, ready_timeout: float = 90.0) -> None:
        """Wait until every server answers at ``/.well-known/csbm``."""
        deadline = time.monotonic() + ready_timeout
        waiting = list(self.running)
        while waiting:
            self.alive()
            waiting = [r for r in waiting if not _answers(self.layout.url(r.site))]
            if waiting and time.monotonic() > deadline:
                names = ", ".join(r.site for r in waiting)
                raise DemoError(
                    f"{names} did not answer in {ready_timeout:.0f} s (see {waiting[0].log})",
                    code="demo.not_ready",
                )
            if waiting:
                time.sleep(0.1)

    def alive(self) -> None:
        """Raise :class:`DemoError` when a server has stopped."""
        for r in self.running:
            code = r.process.poll()
            if code is not None:
                raise DemoError(
                    f"the server of {r.site} stopped (exit {code}); see {r.log}",
                    code="demo.server_stopped",
                )

    @property
    def pids(self) -> list[int]:
        return [r.process.pid for r in self.running]

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM to every server (a graceful stop), then SIGKILL to any still running
        after ``timeout``."""
        for r in self.running:
            if r.process.poll() is None:
                r.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for r in self.running:
            try:
                r.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                r.process.kill()
                r.process.wait(5)


class Stop(Exception):
    """SIGTERM or SIGINT reached the demo."""


@contextlib.contextmanager
def _stopped_by_signals() -> Iterator[None]:
    stopping: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if not stopping:  # a second Ctrl-C while stopping does not cut the stop short
            stopping.append(signum)
            raise Stop(signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _print_logins(layout: Layout, say: Say) -> None:
    say("")
    say(_("The demo network is up ({folder}). Sign in to a node's workbench:").format(
        folder=layout.folder))  # fmt: skip
    say("")
    say(f"  hub  {layout.url(HUB)}/  " + _("(relays messages to all; no workbench)"))
    for state in STATES:
        say(f"  {state}   {layout.url(state)}/web/")
        for login in layout.logins.get(state, []):
            say(f"       {login.name:<12} {login.role:<16} {login.password}")
    say("")
    say(_("Try: as ua-drafter, Compose a ch3.request to BY and save it; as ua-officer, "
          "approve and send it; on BY, Today shows it with its reply due in 48 h, and "
          "UA's Compose page shows BY's receipt."))  # fmt: skip
    say(_("The passwords are kept in {path}. Serving until Ctrl-C.").format(
        path=layout.folder / LAYOUT))  # fmt: skip


def run(
    folder: Path,
    examples: Path,
    say: Say,
    *,
    reset: bool = False,
    port_base: int | None = None,
    serve: bool = True,
) -> Layout:
    """Bring the demo network up in ``folder`` (see the module doc), print its URLs and
    logins, and serve until SIGINT or SIGTERM (``serve=False``: return once it is up, the
    servers stopped). Every server is stopped before this returns or raises."""
    layout = prepare(folder, reset=reset, port_base=port_base)
    messages = [] if layout.loaded else demo_messages(examples)
    servers = Servers(layout)
    with _stopped_by_signals():
        try:
            if not layout.loaded:
                start = messages[0].at - timedelta(days=1)
                say(_("Making the hub and the nodes of {states} in {folder}…").format(
                    states=", ".join(STATES), folder=layout.folder))  # fmt: skip
                build(layout, start)
            say(_("Starting {n} servers…").format(n=len(layout.sites)))
            servers.launch()
            if not layout.loaded:  # while the servers start
                say(_("Adding the accounts…"))
                add_accounts(layout, wall_clock())
            servers.wait_ready()
            if not layout.loaded:
                pins = pin_peers(layout, start)
                say(_("{n} peers pinned by fingerprint.").format(n=pins))
                say(_("Sending the public cases, each at its historical instant:"))
                send_cases(layout, messages, say, servers.alive)
                layout.loaded, layout.messages = True, len(messages)
                layout.save()
            _print_logins(layout, say)
            if serve:
                while True:
                    servers.alive()
                    time.sleep(0.5)
        except Stop:
            say(_("Stopping the servers…"))
        finally:
            servers.stop()
    if serve:
        say(_("Stopped."))
    return layout
