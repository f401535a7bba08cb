"""Start ``csbm serve`` processes for tests: each on a free 127.0.0.1 port, waited for
until ``/.well-known/csbm`` answers, and stopped by itself (``--exit-after`` and
``--exit-with-parent``) even when a test dies. For the e2e tests, the fault test, the
API fuzzing and the benchmark.

    with serve(data_dir) as server:
        httpx.get(server.url + "/.well-known/csbm")
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

#: Fast retries for tests (seconds): a message to a node that is down arrives soon after.
TEST_ENV = {"CSBM_RETRY_BASE": "0.05", "CSBM_RETRY_CAP": "0.5", "CSBM_POLL": "0.05"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def csbm(
    *args: str, data: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the ``csbm`` command line in a subprocess (``--data`` appended when given)."""
    argv = [sys.executable, "-m", "csbm", *args]
    if data is not None:
        argv += ["--data", str(data)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"csbm {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done


@dataclass
class Server:
    """One running ``csbm serve``."""

    data: Path
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM (graceful), then SIGKILL if it does not end in ``timeout``."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return int(self.process.returncode)

    def kill(self) -> None:
        """SIGKILL: a crash."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)


def csbm_many(*commands: Sequence[str]) -> None:
    """Run several ``csbm`` commands at once (processes in parallel); each must succeed."""
    running = [
        subprocess.Popen(
            [sys.executable, "-m", "csbm", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in commands
    ]
    for args, process in zip(commands, running, strict=True):
        _out, err = process.communicate(timeout=120)
        if process.returncode != 0:
            raise AssertionError(f"csbm {' '.join(args)} exited {process.returncode}: {err}")


def start_many(
    datas: Sequence[Path], *, ready_timeout: float = 30.0, **kwargs: Any
) -> list[Server]:
    """Start several servers at once (their start-up overlaps); wait for all."""
    launched = [_launch(d, **kwargs) for d in datas]
    return [_ready(server, ready_timeout) for server in launched]


def start(
    data: Path,
    *,
    port: int | None = None,
    exit_after: float = 300.0,
    env: dict[str, str] | None = None,
    extra: Sequence[str] = (),
    ready_timeout: float = 30.0,
) -> Server:
    """Start ``csbm serve --data DATA`` on ``port`` (default: a free one) and wait until
    it answers."""
    return _ready(
        _launch(data, port=port, exit_after=exit_after, env=env, extra=extra),
        ready_timeout,
    )


def _launch(
    data: Path,
    *,
    port: int | None = None,
    exit_after: float = 300.0,
    env: dict[str, str] | None = None,
    extra: Sequence[str] = (),
) -> Server:
    port = port or free_port()
    log = data.parent / f"{data.name}.serve.log"
    environ = {**os.environ, **TEST_ENV, **(env or {})}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "csbm", "serve", "--data", str(data),
                "--port", str(port), "--exit-after", str(exit_after), "--exit-with-parent",
                *extra,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environ,
        )  # fmt: skip
    return Server(data, port, process, log)


def _ready(server: Server, ready_timeout: float = 30.0) -> Server:
    process, log = server.process, server.log
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"csbm serve exited {process.returncode}: {log.read_text()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(server.url + "/.well-known/csbm", timeout=1.0).status_code == 200:
                return server
        time.sleep(0.05)
    server.kill()
    raise AssertionError(f"csbm serve did not answer in {ready_timeout} s: {log.read_text()}")


@contextlib.contextmanager
def serve(data: Path, **kwargs: Any) -> Iterator[Server]:
    server = start(data, **kwargs)
    try:
        yield server
    finally:
        server.stop()


def fingerprint(data: Path) -> str:
    """The fingerprint a node (or hub) shows (``csbm keys show``), read in-process."""
    from csbm.hub import Hub, is_hub
    from csbm.node import Node

    site: Node | Hub = Hub.open(data) if is_hub(data) else Node.open(data)
    try:
        return site.key.fingerprint
    finally:
        site.close()
