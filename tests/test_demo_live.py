"""The live demo network (issue 12, item 4) as a user runs it: ``csbm demo`` on free ports
in a temporary folder — a hub and seven nodes, each its own ``csbm serve`` process — then
over HTTP: every node answers and holds the public cases it was sent; UA's signing officer
signs in; a request for explanation drafted by UA's drafter and approved by UA's signing
officer reaches BY, whose Today shows CH3_REPLY due 48 hours after it was signed, and BY's
receipt comes back to UA; Ctrl-C stops every process; a second run starts the same network
again without sending anything.

One test, in order (it is one user's session); about 60–90 s on a loaded 2-core machine.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from csbm.domain.time import parse_instant

ROOT = Path(__file__).resolve().parents[1]
STATES = ("UA", "BY", "RU", "LT", "LV", "EE", "PL")
READY = "Serving until Ctrl-C."
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Demo:
    """``csbm demo --data FOLDER --port-base 0`` in a subprocess, its output collected."""

    def __init__(self, folder: Path, *extra: str) -> None:
        env = {**os.environ, "CSBM_LANG": "en", "COLUMNS": "80"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "csbm", "demo", "--data", str(folder), "--port-base", "0",
             *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
        )  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while READY not in " ".join(self.lines[-3:]):
            if self.process.poll() is not None:
                assert self.process.stderr is not None
                raise AssertionError(
                    f"csbm demo exited {self.process.returncode}: {self.process.stderr.read()}"
                )
            if time.monotonic() > deadline:
                self.process.kill()
                raise AssertionError("csbm demo not ready:\n" + "\n".join(self.lines))
            time.sleep(0.1)

    def interrupt(self, timeout: float = 30.0) -> int:
        """Ctrl-C: SIGINT to the demo process alone."""
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self._reader.join(5)


def processes_using(folder: Path) -> list[str]:
    """Every process whose command line names ``folder`` (the servers name their --data)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(folder) in cmdline and "pytest" not in cmdline:
            found.append(f"{entry.name}: {cmdline}")
    return found


def wait_for(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError("timed out")


def answers(url: str) -> bool:
    try:
        return httpx.get(url + "/.well-known/csbm", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.slow
def test_the_live_demo_network(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    started = time.monotonic()
    demo = Demo(folder)
    try:
        demo.wait_ready(150)
        up = time.monotonic() - started
        layout = json.loads((folder / "demo.json").read_text())
        assert layout["loaded"] and layout["messages"] == 15
        url = {site: f"http://127.0.0.1:{port}" for site, port in layout["ports"].items()}
        password = {x["name"]: x["password"] for xs in layout["logins"].values() for x in xs}
        assert sorted(url) == sorted((*STATES, "hub"))
        assert sorted(password) == sorted(
            f"{s.lower()}-{r}" for s in STATES for r in ("officer", "drafter", "reader")
        )
        out = "\n".join(demo.lines)
        for state in STATES:  # the URL and the logins are printed
            assert f"{url[state]}/web/" in out
            assert password[f"{state.lower()}-officer"] in out

        # every node answers with its State, each its own process (its own port)
        for site in (*STATES, "hub"):
            known = httpx.get(url[site] + "/.well-known/csbm").json()
            assert known["state"] == site
        assert len(set(layout["ports"].values())) == 8

        def get(state: str, path: str, who: str = "reader") -> Any:
            name = f"{state.lower()}-{who}"
            response = httpx.get(url[state] + path, auth=(name, password[name]), timeout=30)
            assert response.status_code == 200, response.text
            return response.json()

        # the public cases arrived through the exchange: BY received the Baltic States'
        # request, UA received Belarus's ¶17 request and the calendar and notification of
        # Zapad-2017; every sender has all its receipts
        by_inbox = get("BY", "/api/v1/inbox")["messages"]
        assert {(m["type"], m["case"]) for m in by_inbox} >= {
            ("ch3.request", "union-resolve-2022"), ("ch3.reply_assessment", "union-resolve-2022"),
        }  # fmt: skip
        ua_types = {m["type"] for m in get("UA", "/api/v1/inbox")["messages"]}
        assert {"calendar", "notification", "incident.clarification_request"} <= ua_types
        receipts = 0
        for state in STATES:
            status = get(state, "/api/v1/status")
            assert status["outbox_depth"] == 0
            assert all(not m["waiting_for"] for m in status["sent"]), state
            receipts += sum(len(m["receipts"]) for m in status["sent"])
        assert receipts == 67  # 10 messages to all x 6 nodes, 7 to named States

        # UA's signing officer signs in to the workbench (the sign-in form, CSRF)
        with httpx.Client(base_url=url["UA"], timeout=30) as browser:
            form = browser.get("/web/login")
            csrf = CSRF.search(form.text)
            assert csrf is not None
            signed = browser.post(
                "/web/login",
                data={"name": "ua-officer", "password": password["ua-officer"],
                      "csrf": csrf.group(1), "next": "/web/today", "zone": "Europe/Kyiv"},
            )  # fmt: skip
            assert signed.status_code == 303, signed.text
            today = browser.get("/web/today")
            assert today.status_code == 200 and "ua-officer" in today.text
            wrong = httpx.post(
                url["UA"] + "/web/login",
                data={"name": "ua-officer", "password": "not-the-password-at-all",
                      "csrf": csrf.group(1)},
                cookies=browser.cookies,
            )  # fmt: skip
            assert wrong.status_code != 303

        # a request for explanation: drafted by UA's drafter, approved and sent by UA's
        # signing officer (separation of duties, docs/accounts.md) -- the Compose flow
        message = {
            "type": "ch3.request", "to": "BY", "case": "demo-live-test",
            "body": {"questions": ["Why the troops near the border?"]},
        }  # fmt: skip
        officer = ("ua-officer", password["ua-officer"])
        drafter = ("ua-drafter", password["ua-drafter"])
        refused = httpx.post(url["UA"] + "/api/v1/messages", json=message, auth=drafter)
        assert refused.status_code == 403  # a drafter never signs
        draft = httpx.post(url["UA"] + "/api/v1/drafts", json=message, auth=drafter, timeout=30)
        assert draft.status_code == 201, draft.text
        approved = httpx.post(
            url["UA"] + f"/api/v1/drafts/{draft.json()['id']}/approve", auth=officer, timeout=30
        )
        assert approved.status_code == 200, approved.text
        mid = approved.json()["message_id"]

        # BY's node receives it, and BY's clock starts: CH3_REPLY due 48 h after signing
        def received() -> Any:
            got = [m for m in get("BY", "/api/v1/inbox")["messages"] if m["message_id"] == mid]
            return got[0] if got else None

        arrived = wait_for(received)
        assert arrived["sender"] == "UA" and arrived["receipt_index"] is not None
        signed_at: datetime = parse_instant(arrived["created_at"]).at
        # The pages serve the last complete projection while a newer one is made in the
        # background ("as of log size N"): the new case shows once that refresh is done.
        def owed_on_today() -> Any:
            rows = get("BY", "/api/v1/workbench/today")["deadlines"]
            return [d for d in rows if d["case"] == "demo-live-test"] or None

        (owed,) = wait_for(owed_on_today)
        assert owed["rule"] == "CH3_REPLY" and owed["owed_by"] == ["BY"]
        assert owed["owed_to"] == ["UA"] and owed["status"] == "open"
        assert parse_instant(owed["due"]).at == signed_at + timedelta(hours=48)

        # and BY's signed receipt comes back to UA
        def receipt() -> Any:
            sent = [m for m in get("UA", "/api/v1/status")["sent"] if m["message_id"] == mid]
            return sent and sent[0]["receipts"]

        assert [r["state"] for r in wait_for(receipt)] == ["BY"]
        size_by = get("BY", "/api/v1/status")["size"]

        # Ctrl-C stops every process: no server is left, no port answers
        assert demo.interrupt() == 0
        assert demo.lines[-1] == "Stopped."
        assert processes_using(folder) == []
        assert not any(answers(u) for u in url.values())
    finally:
        if demo.process.poll() is None:
            demo.process.kill()

    # a second run starts the same network again and sends nothing
    again = Demo(folder)
    try:
        again.wait_ready(90)
        assert not any("receipt(s)" in line for line in again.lines)
        assert json.loads((folder / "demo.json").read_text())["ports"] == layout["ports"]
        assert get("BY", "/api/v1/status")["size"] == size_by
        assert received() is not None
        assert again.interrupt() == 0
        assert processes_using(folder) == []
    finally:
        if again.process.poll() is None:
            again.process.kill()
    print(f"live demo up in {up:.1f} s")
