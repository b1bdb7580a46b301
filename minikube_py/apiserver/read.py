"""The read path: one object (optionally at a resourceVersion) and paginated, filtered lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from minikube_py.api import errors
from minikube_py.api.errors import ApiError
from minikube_py.api.resources import Resource
from minikube_py.api.selectors import ObjectFilter
from minikube_py.apiserver import storage
from minikube_py.apiserver.requestbody import namespace_for
from minikube_py.apiserver.storage import decode_kv, object_key
from minikube_py.store.types import KV, CompactedError, FutureRevisionError, KeyValue, prefix_end


@dataclass(slots=True)
class ListResult:
    items: list[dict[str, Any]]
    revision: int
    continue_token: str = ""
    remaining: int | None = None


async def read_key(kv: KV, key: bytes) -> KeyValue | None:
    res = await kv.range(key)
    return res.kvs[0] if res.kvs else None


async def read_existing(kv: KV, resource: Resource, ns: str | None, name: str) -> KeyValue:
    found = await read_key(kv, object_key(resource, ns, name))
    if found is None:
        raise errors.not_found(resource.plural, name, resource.group)
    return found


async def get_object(kv: KV, resource: Resource, name: str, namespace: str | None,
                     resource_version: str = "") -> dict[str, Any]:
    ns = namespace_for(resource, namespace)
    rev = storage.parse_resource_version(resource_version)
    key = object_key(resource, ns, name)
    try:
        res = await kv.range(key, revision=rev if rev > 1 else 0)
    except CompactedError:
        raise storage.too_old(rev) from None
    except FutureRevisionError:
        res = await kv.range(key)
    if not res.kvs:
        raise errors.not_found(resource.plural, name, resource.group)
    return decode_kv(res.kvs[0])


async def list_objects(kv: KV, resource: Resource, namespace: str | None, flt: ObjectFilter,
                       *, limit: int = 0, continue_token: str = "", resource_version: str = "",
                       resource_version_match: str = "") -> ListResult:
    prefix = storage.list_prefix(resource, namespace if resource.namespaced else None)
    end = prefix_end(prefix)
    revision = 0
    start = prefix
    if continue_token:
        token = storage.ContinueToken.decode(continue_token, prefix)
        revision, start = token.revision, token.start_key
    elif resource_version_match == "Exact":
        revision = storage.parse_resource_version(resource_version)
    elif resource_version not in ("", "0"):
        storage.parse_resource_version(resource_version)  # 400 on garbage
    items: list[dict[str, Any]] = []
    batch = 0 if not limit else (limit + 1 if flt.empty else max(limit * 2, 100))
    remaining: int | None = None
    next_key = b""
    try:
        while True:
            res = await kv.range(start, end, revision=revision, limit=batch)
            revision = revision or res.revision
            for i, item in enumerate(res.kvs):
                if limit and len(items) == limit:
                    next_key = item.key
                    if flt.empty:
                        remaining = res.count - i
                    break
                obj = decode_kv(item)
                if flt.empty or flt.matches(obj):
                    items.append(obj)
            if next_key or not res.more or not res.kvs:
                break
            start = res.kvs[-1].key + b"\x00"
    except CompactedError:
        if continue_token:
            raise storage.expired_continue() from None
        raise storage.too_old(revision) from None
    except FutureRevisionError:
        raise ApiError(504, "Timeout", f"Too large resource version: {revision}, current: "
                                       f"{kv.revision}") from None
    next_token = storage.ContinueToken(revision, next_key).encode() if next_key else ""
    return ListResult(items, revision, next_token, remaining)


def list_body(resource: Resource, res: ListResult) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceVersion": str(res.revision)}
    if res.continue_token:
        meta["continue"] = res.continue_token
    if res.remaining is not None and res.continue_token:
        meta["remainingItemCount"] = res.remaining
    return {"kind": resource.list_kind, "apiVersion": resource.api_version, "metadata": meta,
            "items": res.items}
