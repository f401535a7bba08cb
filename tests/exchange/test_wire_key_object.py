"""A signed request verifies against the receiver's key given raw or as the key object
its key directory holds (made once: the inbox's hot path), and a wrong body fails
either way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from csbm.exchange.wire import AuthError, sign_request, verify_request
from csbm.ledger.keys import generate_state_key

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("as_object", [False, True])
def test_a_request_verifies_with_a_raw_key_or_a_key_object(as_object: bool) -> None:
    key = generate_state_key("LT")
    raw = key.public_key
    held: bytes | Ed25519PublicKey = Ed25519PublicKey.from_public_bytes(raw) if as_object else raw
    headers = sign_request(key, "LT", "POST", "/api/v1/inbox", b"{}", AT)
    skew = timedelta(minutes=5)
    signed = verify_request(headers, "POST", "/api/v1/inbox", b"{}", AT, skew, lambda s, k: held)
    assert signed.signer == "LT" and signed.key_id == key.key_id
    with pytest.raises(AuthError) as refused:
        verify_request(headers, "POST", "/api/v1/inbox", b"[]", AT, skew, lambda s, k: held)
    assert refused.value.code == "auth.bad_signature"
