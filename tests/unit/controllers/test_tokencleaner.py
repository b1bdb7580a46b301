"""When a bootstrap-token Secret expires, as the token cleaner reads it: its `expiration`
(RFC 3339, any offset) or never; an unreadable one is left alone, as kube's cleaner does."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from minikube_py.controllers.tokencleaner import expiration


def secret(**data: Any) -> dict[str, Any]:
    return {"data": {k: base64.b64encode(v.encode()).decode() if isinstance(v, str) else v
                     for k, v in data.items()}}


@pytest.mark.parametrize(("data", "expires"), [
    ({"expiration": "2026-12-02T00:00:00Z"}, 1796169600.0),
    ({"expiration": "2026-12-02T02:00:00+02:00"}, 1796169600.0),
    ({}, None),  # never expires
    ({"expiration": ""}, None),
    ({"expiration": "tomorrow"}, None),  # unreadable: left alone
    ({"expiration": "2026-12-02T00:00:00"}, None),  # no offset
])
def test_when_a_token_secret_expires(data: dict[str, Any], expires: float | None) -> None:
    assert expiration(secret(**data)) == expires


def test_an_expiration_that_is_not_base64_is_unreadable() -> None:
    assert expiration({"data": {"expiration": "%%%"}}) is None
    assert expiration({"data": {"expiration": 7}}) is None
    assert expiration({}) is None
