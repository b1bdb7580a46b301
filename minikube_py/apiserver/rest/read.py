"""The read path: one object and paginated, filtered lists, with kube's resourceVersion rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from minikube_py.api import errors
from minikube_py.api.errors import ApiError
from minikube_py.api.resources import Resource
from minikube_py.api.selectors import ObjectFilter
from minikube_py.apiserver import storage
from minikube_py.apiserver.bodies import namespace_for
from minikube_py.apiserver.storage import decode_kv, object_key
from minikube_py.store.types import KV, CompactedError, FutureRevisionError, KeyValue, prefix_end


@dataclass(slots=True)
class ListResult:
    """The stored entries of a list page; decoded only when someone asks for `items`."""

    kvs: list[KeyValue]
    revision: int
    continue_token: str = ""
    remaining: int | None = None
    decoded: list[dict[str, Any]] | None = None
    # Objects read from elsewhere (the resource metrics) have no store revision to show.
    unversioned: bool = False

    @property
    def items(self) -> list[dict[str, Any]]:
        if self.decoded is None:
            self.decoded = [decode_kv(kv) for kv in self.kvs]
        return self.decoded


async def read_key(kv: KV, key: bytes) -> KeyValue | None:
    res = await kv.range(key)
    return res.kvs[0] if res.kvs else None


async def read_existing(kv: KV, resource: Resource, ns: str | None, name: str) -> KeyValue:
    found = await read_key(kv, object_key(resource, ns, name))
    if found is None:
        raise errors.not_found(resource.plural, name, resource.group)
    return found


async def get_stored(kv: KV, resource: Resource, name: str, namespace: str | None,
                     resource_version: str = "") -> KeyValue:
    """The latest object: a GET's resourceVersion means "not older than" (kube), so it only
    matters when it is ahead of the store (504, retry)."""
    ns = namespace_for(resource, namespace)
    rev = storage.parse_resource_version(resource_version)
    if rev > kv.revision:
        raise too_large_resource_version(rev, kv.revision)
    found = await read_key(kv, object_key(resource, ns, name))
    if found is None:
        raise errors.not_found(resource.plural, name, resource.group)
    return found


async def get_object(kv: KV, resource: Resource, name: str, namespace: str | None,
                     resource_version: str = "") -> dict[str, Any]:
    return decode_kv(await get_stored(kv, resource, name, namespace, resource_version))


def too_large_resource_version(requested: int, current: int) -> ApiError:
    """kube's NewTooLargeResourceVersionError: the client should retry in a second."""
    return ApiError(504, "Timeout", f"Timeout: Too large resource version: {requested}, "
                                    f"current: {current}",
                    {"retryAfterSeconds": 1},
                    [errors.Cause("ResourceVersionTooLarge", "Too large resource version")])


async def list_objects(kv: KV, resource: Resource, namespace: str | None, flt: ObjectFilter,
                       *, limit: int = 0, continue_token: str = "", resource_version: str = "",
                       resource_version_match: str = "") -> ListResult:
    prefix = storage.list_prefix(resource, namespace if resource.namespaced else None)
    end = prefix_end(prefix)
    revision = 0
    start = prefix
    exact = list_revision(kv, resource_version, resource_version_match, limit=limit,
                          continuing=bool(continue_token))
    if continue_token:
        token = storage.ContinueToken.decode(continue_token, prefix)
        revision, start = token.revision, token.start_key
    elif exact:
        revision = exact
    kvs: list[KeyValue] = []
    decoded: list[dict[str, Any]] = []
    batch = 0 if not limit else (limit + 1 if flt.empty else max(limit * 2, 100))
    remaining: int | None = None
    next_key = b""
    try:
        while True:
            res = await kv.range(start, end, revision=revision, limit=batch)
            revision = revision or res.revision
            for i, item in enumerate(res.kvs):
                if limit and len(kvs) == limit:
                    next_key = item.key
                    if flt.empty:
                        remaining = res.count - i
                    break
                if flt.empty:
                    kvs.append(item)
                    continue
                obj = decode_kv(item)
                if flt.matches(obj):
                    kvs.append(item)
                    decoded.append(obj)
            if next_key or not res.more or not res.kvs:
                break
            start = res.kvs[-1].key + b"\x00"
    except CompactedError:
        if continue_token:
            raise storage.expired_continue() from None
        raise storage.too_old(revision) from None
    except FutureRevisionError:
        raise too_large_resource_version(revision, kv.revision) from None
    next_token = storage.ContinueToken(revision, next_key).encode() if next_key else ""
    return ListResult(kvs, revision, next_token, remaining, None if flt.empty else decoded)


def list_revision(kv: KV, resource_version: str, match: str, *, limit: int,
                  continuing: bool) -> int:
    """The revision a list must be read at (0: the latest), per kube's table: with N and no
    limit, or match=NotOlderThan, "not older than N" serves the latest; match=Exact, or N
    with a limit and no match (the legacy paging rule), reads at N exactly."""
    causes = _list_option_errors(resource_version, match, continuing)
    if causes:
        raise errors.invalid("ListOptions", "", causes, "meta.k8s.io")
    rev = storage.parse_resource_version(resource_version)
    if continuing and rev:
        raise errors.bad_request("specifying resource version is not allowed when using "
                                 "continue")
    if not rev:
        return 0
    if match == "Exact" or (not match and limit):
        return rev
    if rev > kv.revision:
        raise too_large_resource_version(rev, kv.revision)
    return 0


def _list_option_errors(resource_version: str, match: str,
                        continuing: bool) -> list[errors.Cause]:
    """ValidateListOptions' rules for resourceVersionMatch."""
    if not match:
        return []
    field = "resourceVersionMatch"
    causes = []
    if not resource_version:
        causes.append(errors.Cause("FieldValueForbidden", "Forbidden: resourceVersionMatch is "
                                   "forbidden unless resourceVersion is provided", field))
    if continuing:
        causes.append(errors.Cause("FieldValueForbidden", "Forbidden: resourceVersionMatch is "
                                   "forbidden when continue is provided", field))
    if match not in ("Exact", "NotOlderThan"):
        causes.append(errors.Cause("FieldValueNotSupported", f'Unsupported value: "{match}": '
                                   'supported values: "Exact", "NotOlderThan", ""', field))
    if match == "Exact" and resource_version == "0":
        causes.append(errors.Cause("FieldValueForbidden", 'Forbidden: resourceVersionMatch '
                                   '"exact" is forbidden for resourceVersion "0"', field))
    return causes


def list_meta(res: ListResult) -> dict[str, Any]:
    if res.unversioned:
        return {}
    meta: dict[str, Any] = {"resourceVersion": str(res.revision)}
    if res.continue_token:
        meta["continue"] = res.continue_token
        if res.remaining is not None:
            meta["remainingItemCount"] = res.remaining
    return meta


def list_body(resource: Resource, res: ListResult) -> dict[str, Any]:
    return {"kind": resource.list_kind, "apiVersion": resource.api_version,
            "metadata": list_meta(res), "items": res.items}


def list_json(resource: Resource, res: ListResult,
              served: Callable[[bytes], bytes] | None = None) -> bytes:
    """list_body as JSON, its items spliced from the stored bytes (no decode, no encode);
    `served` turns each item's bytes into the requested version's (custom resources)."""
    head = storage.dumps({"kind": resource.list_kind, "apiVersion": resource.api_version,
                          "metadata": list_meta(res)})
    items = b",".join([served(storage.kv_json(kv)) if served else storage.kv_json(kv)
                       for kv in res.kvs])
    return b"".join((head[:-1].encode(), b',"items":[', items, b"]}"))
