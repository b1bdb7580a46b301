"""What a member is: its identity on disk and its record in the cluster's registry (pure).

A member's identity (DATA/store/member.json) is its cluster id, member id and name, written
once when the member is made (`--cluster-init`, or joining with `--server`) and read on every
later start: restarting on the same data dir is being that member again.

The registry: every member's record (name, where its peers, API and etcd API are reached)
is a key of the store itself, under a prefix no Kubernetes resource uses (the API server
keeps to /registry/), so it is replicated, snapshotted and recovered with everything else,
and a member that applies a membership change has already applied the record of the member
it adds (the record is written first). etcd keeps its members in its own backend for the
same reasons.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REGISTRY_PREFIX = b"/minikube-py/members/"
IDENTITY_FILE = "member.json"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$")


class MemberRecordError(ValueError):
    """A member record or identity that does not parse, said in one line."""


def new_member_id(randbits: Any = secrets.randbits) -> int:
    """A random positive 63-bit id (etcd's ids are 64-bit; msgpack and JSON keep 63 exact)."""
    while True:
        value = int(randbits(63))
        if value > 0:
            return value


def check_member_name(name: str) -> str:
    if not _NAME.match(name):
        raise MemberRecordError(
            f"member name {name!r}: lowercase letters, digits, '-' and '.', at most 63")
    return name


@dataclass(frozen=True, slots=True)
class MemberIdentity:
    """`voters`/`learners`: the membership the member was made with. A restart passes them
    to the store again; they matter only while its log holds nothing (a learner that has not
    received its first snapshot must not take itself for a cluster of one)."""

    cluster_id: int
    member_id: int
    name: str
    voters: tuple[int, ...] = ()
    learners: tuple[int, ...] = ()
    # Made with --cluster-init: for now the member that runs the scheduler, the controllers
    # and cluster DNS (the others serve the API and the store).
    founder: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str) -> MemberIdentity:
        try:
            body = json.loads(text)
            identity = cls(int(body["cluster_id"]), int(body["member_id"]), str(body["name"]),
                           tuple(int(v) for v in body.get("voters", ())),
                           tuple(int(v) for v in body.get("learners", ())),
                           bool(body.get("founder", False)))
        except (ValueError, KeyError, TypeError) as e:
            raise MemberRecordError(f"{source}: not a member identity ({e})") from None
        if identity.cluster_id <= 0 or identity.member_id <= 0:
            raise MemberRecordError(f"{source}: cluster and member ids are positive")
        return identity


def identity_path(store_dir: Path) -> Path:
    return store_dir / IDENTITY_FILE


def write_identity(store_dir: Path, identity: MemberIdentity) -> None:
    store_dir.mkdir(parents=True, exist_ok=True)
    path = identity_path(store_dir)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        f.write(identity.to_json())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(store_dir, os.O_RDONLY)  # the rename itself survives a power loss
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_identity(store_dir: Path) -> MemberIdentity | None:
    path = identity_path(store_dir)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    return MemberIdentity.from_json(text, str(path))


@dataclass(frozen=True, slots=True)
class MemberRecord:
    """One member as the cluster knows it. URLs are what others dial."""

    id: int
    name: str
    peer_url: str
    api_url: str
    etcd_url: str = ""

    @property
    def key(self) -> bytes:
        return registry_key(self.id)

    @property
    def peer_address(self) -> tuple[str, int]:
        return url_address(self.peer_url)

    def encode(self) -> bytes:
        return json.dumps({"id": self.id, "name": self.name, "peerURL": self.peer_url,
                           "apiURL": self.api_url, "etcdURL": self.etcd_url},
                          separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes) -> MemberRecord:
        try:
            body = json.loads(data)
            return cls(int(body["id"]), check_member_name(str(body["name"])),
                       str(body["peerURL"]), str(body["apiURL"]), str(body.get("etcdURL", "")))
        except (ValueError, KeyError, TypeError) as e:
            raise MemberRecordError(f"not a member record ({e})") from None

    def to_dict(self) -> dict[str, Any]:
        return {"id": str(self.id), "name": self.name, "peerURL": self.peer_url,
                "apiURL": self.api_url, "etcdURL": self.etcd_url}


def registry_key(member_id: int) -> bytes:
    return REGISTRY_PREFIX + f"{member_id:016x}".encode()


def registry_range_end() -> bytes:
    return REGISTRY_PREFIX[:-1] + bytes([REGISTRY_PREFIX[-1] + 1])


def url_address(url: str) -> tuple[str, int]:
    """(host, port) of an https URL; MemberRecordError if it has no port."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or parts.port is None:
        raise MemberRecordError(f"{url!r} is not https://HOST:PORT")
    return parts.hostname, parts.port


def https_url(host: str, port: int) -> str:
    return f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"


def peer_addresses(records: Mapping[int, MemberRecord], members: set[int],
                   self_id: int) -> dict[int, tuple[str, int]]:
    """Where to reach each of `members` but ourselves, for those whose record we have."""
    return {i: records[i].peer_address for i in sorted(members)
            if i != self_id and i in records}
