"""What serve says of its store on GET /status: members and leader by name."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest.mock import Mock

from minikube_py.config import ServeConfig
from minikube_py.serve_reports import store_facts
from minikube_py.store.node import RaftStore


def embedded(**attributes: Any) -> Any:
    """A stand-in for the embedded store (what store_facts reads of it), a RaftStore to
    isinstance as the real one is."""
    return Mock(spec=RaftStore, **attributes)


def test_a_store_of_one_leads_itself() -> None:
    store = embedded(is_leader=True, revision=12)
    facts = store_facts(ServeConfig(data_dir=Path("/d"), node_name="n"), store, None)
    assert facts == {"kind": "embedded", "members": ["n"], "revision": 12, "leader": "n"}


def test_members_and_leader_are_named_from_their_records() -> None:
    records = {1: SimpleNamespace(name="a"), 2: SimpleNamespace(name="b")}
    raft = embedded(members=lambda: SimpleNamespace(voters=(1, 2), learners=(3,)),
                    raft_position=lambda: SimpleNamespace(leader=2), revision=5)
    member: Any = SimpleNamespace(store=raft, records=records)
    facts = store_facts(ServeConfig(node_name="a"), raft, member)
    assert facts == {"kind": "embedded", "revision": 5, "members": ["a", "b", "3"],
                     "leader": "b"}


def test_no_leader_known_is_none() -> None:
    raft = embedded(members=lambda: SimpleNamespace(voters=(1,), learners=()),
                    raft_position=lambda: SimpleNamespace(leader=0), revision=5)
    member: Any = SimpleNamespace(store=raft, records={1: SimpleNamespace(name="a")})
    assert store_facts(ServeConfig(node_name="a"), raft, member)["leader"] == ""
