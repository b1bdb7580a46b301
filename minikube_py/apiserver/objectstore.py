"""API objects in the key-value store, and the one compare-and-swap retry loop.

kube-apiserver's storage.Interface with its GuaranteedUpdate: every write that depends on
what is stored (update, every patch type, status, scale, binding, eviction, finalizers,
deletion) is a `try_update` function handed to `guaranteed_update`, which reads the
object, asks the function for the new state and swaps it in only if nothing moved in the
meantime; otherwise it reads again and asks again. Nothing else retries a lost swap.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from minikube_py.api import errors
from minikube_py.api.errors import ApiError
from minikube_py.api.resources import Resource
from minikube_py.apiserver.encryptedkv import is_stale
from minikube_py.apiserver.storage import decode_kv, dumps, encode, object_key, with_revision
from minikube_py.store.types import KV, Compare, CompareOp, CompareTarget, DeleteOp, KeyValue, PutOp

Obj = dict[str, Any]
# etcd's default request limit: a larger object could never be written to a real etcd.
MAX_OBJECT_BYTES: Final = 1536 * 1024
_LEASE_REUSE_SECONDS: Final = 60.0


class Stored:
    """The object as read for one attempt: decoded once on first use; `copy()` decodes
    again, for a caller that changes one copy and compares it with the other."""

    __slots__ = ("_obj", "kv")

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv
        self._obj: Obj | None = None

    @property
    def obj(self) -> Obj:
        if self._obj is None:
            self._obj = decode_kv(self.kv)
        return self._obj

    def copy(self) -> Obj:
        return decode_kv(self.kv)


@dataclass(frozen=True, slots=True)
class Delete:
    """What a try_update returns to delete the object instead of writing it; the answer
    then shows `report` (by default the object as it was stored)."""

    report: Obj | None = None


# The stored object (None when it is missing and the caller allows that) -> the new
# object, a Delete, or None for "leave it as it is".
TryUpdate = Callable[[Stored | None], Awaitable[Obj | Delete | None]]


@dataclass(frozen=True, slots=True)
class Written:
    """The outcome of a guaranteed update: the object as stored (for a deletion, its last
    state at the delete's revision); `deleted` and `created` say what happened."""

    obj: Obj
    deleted: bool = False
    created: bool = False
    changed: bool = True
    value: bytes = b""  # the stored bytes (empty for a deletion or a dry run)

    def json(self) -> bytes:
        """The object as the API answers it: the stored bytes, not encoded again."""
        if self.value:
            return with_revision(self.value, int(self.obj["metadata"]["resourceVersion"]))
        return dumps(self.obj).encode(errors="replace")


def too_large(size: int) -> ApiError:
    return ApiError(413, "RequestEntityTooLarge",
                    f"Request entity too large: the object would be {size} bytes; the store "
                    f"takes objects of at most {MAX_OBJECT_BYTES} bytes")


class ObjectStore:
    """Reads and writes API objects; `clock` times the leases of expiring kinds (events)."""

    def __init__(self, kv: KV, clock: Callable[[], float]) -> None:
        self.kv = kv
        self._clock = clock
        self._leases: dict[int, tuple[int, float]] = {}  # ttl -> (lease id, granted at)

    async def read(self, resource: Resource, namespace: str | None, name: str
                   ) -> KeyValue | None:
        res = await self.kv.range(object_key(resource, namespace, name))
        return res.kvs[0] if res.kvs else None

    async def get(self, resource: Resource, namespace: str | None, name: str) -> Obj:
        found = await self.read(resource, namespace, name)
        if found is None:
            raise errors.not_found(resource.plural, name, resource.group)
        return decode_kv(found)

    async def create(self, resource: Resource, namespace: str | None, obj: Obj, *,
                     ttl: int = 0) -> Written:
        """Store a new object; 409 AlreadyExists if the name is taken."""
        name = obj["metadata"]["name"]
        key = object_key(resource, namespace, name)
        value = _encode_checked(obj)
        lease = await self._lease_for(ttl)
        res = await self.kv.txn([Compare(key, CompareTarget.CREATE, CompareOp.EQUAL, 0)],
                                [PutOp(key, value, lease=lease)], [])
        if not res.succeeded:
            raise errors.already_exists(resource.plural, name, resource.group)
        obj["metadata"]["resourceVersion"] = str(res.revision)
        return Written(obj, created=True, value=value)

    async def guaranteed_update(self, resource: Resource, namespace: str | None, name: str,
                                try_update: TryUpdate, *, allow_missing: bool = False,
                                dry_run: bool = False, ttl: int = 0) -> Written:
        """Read, ask `try_update`, compare-and-swap; again until the swap holds. Errors
        `try_update` raises (a failed precondition, an invalid object) end the loop."""
        key = object_key(resource, namespace, name)
        while True:
            res = await self.kv.range(key)
            stored = Stored(res.kvs[0]) if res.kvs else None
            if stored is None and not allow_missing:
                raise errors.not_found(resource.plural, name, resource.group)
            new = await try_update(stored)
            if stored is None:
                if new is None or isinstance(new, Delete):
                    raise errors.not_found(resource.plural, name, resource.group)
                if dry_run:
                    return Written(new, created=True)
                try:
                    return await self.create(resource, namespace, new, ttl=ttl)
                except ApiError as e:
                    if e.code != 409:
                        raise
                    continue  # created meanwhile: update what is there now
            written = await self._swap(stored, new, dry_run)
            if written is not None:
                return written

    async def _swap(self, stored: Stored, new: Obj | Delete | None,
                    dry_run: bool) -> Written | None:
        """One compare-and-swap against `stored`; None when the object moved meanwhile."""
        kv = stored.kv
        if new is None:
            return Written(stored.obj, changed=False)
        if isinstance(new, Delete):
            report = new.report if new.report is not None else stored.obj
            if dry_run:
                return Written(report, deleted=True)
            res = await self.kv.txn([_unchanged(kv)], [DeleteOp(kv.key)], [])
            if not res.succeeded:
                return None
            report["metadata"]["resourceVersion"] = str(res.revision)
            return Written(report, deleted=True)
        meta = new["metadata"]
        meta.pop("resourceVersion", None)
        value = _encode_checked(new)
        # An unchanged object is not written, unless it is stored stale (a Secret under an
        # old key or in plain text): that write is how it gets re-encrypted, as in kube.
        if (value == kv.value and not is_stale(kv)) or dry_run:
            meta["resourceVersion"] = str(kv.mod_revision)
            return Written(new, changed=value != kv.value, value=b"" if dry_run else value)
        res = await self.kv.txn([_unchanged(kv)], [PutOp(kv.key, value, lease=kv.lease)], [])
        if not res.succeeded:
            return None
        meta["resourceVersion"] = str(res.revision)
        return Written(new, value=value)

    async def _lease_for(self, ttl: int) -> int:
        """One lease serves every object of a TTL written within a minute (as kube does for
        events), so expiring kinds cost one lease a minute, not one per object."""
        if not ttl:
            return 0
        now = self._clock()
        lease, granted = self._leases.get(ttl, (0, 0.0))
        if not lease or now - granted > _LEASE_REUSE_SECONDS:
            lease = await self.kv.lease_grant(int(ttl + _LEASE_REUSE_SECONDS))
            self._leases[ttl] = (lease, now)
        return lease


def _unchanged(stored: KeyValue) -> Compare:
    return Compare(stored.key, CompareTarget.MOD, CompareOp.EQUAL, stored.mod_revision)


def _encode_checked(obj: Obj) -> bytes:
    value = encode(obj)
    if len(value) > MAX_OBJECT_BYTES:
        raise too_large(len(value))
    return value
