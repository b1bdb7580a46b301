"""Short stable hashes of pod templates, as kube's controllers put in pod labels
(`controller-revision-hash`, `pod-template-hash`): FNV-1a 32 over the canonical JSON,
spelled in the alphabet of rand.SafeEncodeString (no vowels, no look-alikes)."""

from __future__ import annotations

import json
from typing import Any

_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def fnv1a_32(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def safe_encode(value: int) -> str:
    """Each decimal digit of `value` mapped into the safe alphabet (like kube's encoding
    of fmt.Sprint(hash))."""
    return "".join(_ALPHABET[ord(ch) % len(_ALPHABET)] for ch in str(value))


def template_hash(template: Any, collision_count: int | None = None) -> str:
    payload = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        payload += str(collision_count).encode()
    return safe_encode(fnv1a_32(payload))
