"""The inbox's shortcuts against the plain paths they replace (issue 11, item 9): a
pinned key's object made once, the serving loop that wakes once a second yet stops at
once."""

from __future__ import annotations

import asyncio
import threading
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def test_a_pinned_key_object_is_made_once_and_verifies_as_the_raw_key() -> None:
    from csbm.api.signed import _key_object

    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key = _key_object(raw)
    assert isinstance(key, Ed25519PublicKey)
    assert _key_object(raw) is key
    signature = private.sign(b"text")
    key.verify(signature, b"text")  # as Ed25519PublicKey.from_public_bytes(raw) would
    Ed25519PublicKey.from_public_bytes(raw).verify(signature, b"text")
    assert _key_object(b"short") == b"short"  # not a key: refused later, as before


def test_the_server_wakes_once_a_second_and_stops_at_once() -> None:
    import uvicorn

    from csbm.cli.serve import TICK, _server_class

    async def app(scope: object, receive: object, send: object) -> None:  # pragma: no cover
        return None

    server = _server_class()(uvicorn.Config(app, lifespan="off"))
    assert TICK >= 1.0
    ticks: list[float] = []
    on_tick = server.on_tick

    async def counted(counter: int) -> bool:
        ticks.append(time.monotonic())
        assert counter == 0  # the Date header refreshed at every tick
        return bool(await on_tick(counter))

    server.on_tick = counted

    def stop_later() -> None:
        time.sleep(0.3)
        server.stop()

    started = time.monotonic()
    threading.Thread(target=stop_later, daemon=True).start()
    asyncio.run(server.main_loop())
    took = time.monotonic() - started
    assert took < TICK  # the stop ended the wait, not the tick
    assert len(ticks) == 2  # the first tick, and the one that saw the stop
    assert server.should_exit
