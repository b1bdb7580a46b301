"""How API objects live in the store: keys, JSON values, resourceVersion = mod revision."""

from __future__ import annotations

import base64
import json
import re
import time
from dataclasses import dataclass
from typing import Any

from minikube_py.api.errors import ApiError, bad_request
from minikube_py.api.resources import Resource
from minikube_py.store.types import KeyValue

REGISTRY = b"/registry/"
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def resource_prefix(resource: Resource) -> str:
    return f"/registry/{resource.group}/{resource.plural}/" if resource.group \
        else f"/registry/{resource.plural}/"


def list_prefix(resource: Resource, namespace: str | None) -> bytes:
    prefix = resource_prefix(resource)
    if resource.namespaced and namespace:
        prefix += namespace + "/"
    return prefix.encode()


def object_key(resource: Resource, namespace: str | None, name: str) -> bytes:
    prefix = resource_prefix(resource)
    if resource.namespaced:
        return f"{prefix}{namespace}/{name}".encode()
    return f"{prefix}{name}".encode()


_HEAD_KEYS = ("kind", "apiVersion", "metadata")


def encode(obj: dict[str, Any]) -> bytes:
    """The stored form: kind, apiVersion and metadata first (kube's order), metadata without
    its resourceVersion (the store's revision is it). That fixed head lets `with_revision`
    put the revision back by splicing bytes, never decoding the object."""
    meta = obj.get("metadata")
    if isinstance(meta, dict) and "resourceVersion" in meta:
        meta = {k: v for k, v in meta.items() if k != "resourceVersion"}
    ordered = {k: obj[k] for k in _HEAD_KEYS if k in obj}
    if "metadata" in ordered:
        ordered["metadata"] = meta
    for k, v in obj.items():
        if k not in ordered:
            ordered[k] = v
    return _dumps(ordered).encode()


# The head `encode` writes (and what older values start with: the three keys in any order
# before metadata), up to the opening brace of metadata.
_HEAD = re.compile(rb'\{(?:"(?:kind|apiVersion)":"[^"\\]*",){0,2}"metadata":\{')


def with_revision(value: bytes, revision: int) -> bytes:
    """The stored object as the API shows it: metadata.resourceVersion set to `revision`."""
    m = _HEAD.match(value)
    if m is None:
        return _dumps(decode(value, revision)).encode()
    at = m.end()
    rv = b'"resourceVersion":"%d"' % revision
    if value[at:at + 1] != b"}":
        rv += b","
    return value[:at] + rv + value[at:]


def kv_json(kv: KeyValue) -> bytes:
    return with_revision(kv.value, kv.mod_revision)


def decode(value: bytes, revision: int) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(value)
    obj.setdefault("metadata", {})["resourceVersion"] = str(revision)
    return obj


def decode_kv(kv: KeyValue) -> dict[str, Any]:
    return decode(kv.value, kv.mod_revision)


def dumps(obj: Any) -> str:
    return _dumps(obj)


def parse_rfc3339(value: str) -> float:
    import calendar

    return float(calendar.timegm(time.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")))


def parse_resource_version(rv: str | None) -> int:
    """0 for "" / "0"; the integer otherwise; 400 for anything else (like kube)."""
    if not rv:
        return 0
    try:
        n = int(rv)
    except ValueError:
        raise bad_request(f'invalid resource version "{rv}"') from None
    if n < 0:
        raise bad_request(f'invalid resource version "{rv}"')
    return n


@dataclass(frozen=True, slots=True)
class ContinueToken:
    revision: int
    start_key: bytes  # the first key (inclusive) of the next page

    def encode(self) -> str:
        raw = json.dumps({"v": "meta.k8s.io/v1", "rv": self.revision,
                          "start": self.start_key.decode()})
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, prefix: bytes) -> ContinueToken:
        try:
            raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            start = raw["start"].encode()
            rev = int(raw["rv"])
        except (ValueError, KeyError, TypeError, AttributeError):
            raise bad_request("continue key is not valid: incorrect encoded start "
                              "resourceVersion (version meta.k8s.io/v1)") from None
        if not start.startswith(prefix) or rev <= 0:
            raise bad_request("continue key is not valid: key does not belong to this list")
        return cls(rev, start)


def expired_continue() -> ApiError:
    return ApiError(410, "Expired",
                    "The provided continue parameter is too old to display a consistent list "
                    "result. You can start a new list without the continue parameter, or use the "
                    "continue token in this response to retrieve the remainder of the results. "
                    "Continuing with the provided token results in an inconsistent list - objects "
                    "that were created, modified, or deleted between the time the first chunk was "
                    "returned and now may show up in the list.")


def too_old(requested: int, oldest: int = 0) -> ApiError:
    msg = "too old resource version: " + str(requested)
    if oldest:
        msg += f" ({oldest})"
    return ApiError(410, "Expired", msg)
