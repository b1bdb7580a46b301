"""Every served kind, each on its own (the stateful suite in test_fuzz_api.py mixes them and
may reach a kind only a few times in CI's budget): a create of a valid, typed or mutated
object in any encoding, then a patch of every type and an update of what is stored."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minikube_py.api.resources import Resource

from .budget import fuzz_settings, fuzz_timeout
from .encodings import Body, encoded, json_text
from .harness import FuzzServer, collection_path, object_path
from .kinds import RESOURCES, REVIEWS, variant
from .patches import APPLY, any_patch
from .queries import query
from .seeds import review_seed, seed, seed_name

pytestmark = fuzz_timeout()


@pytest.fixture
def servers() -> Iterator[list[FuzzServer]]:
    """A fresh server per example (hypothesis runs many in one test): started on demand,
    all closed at the end."""
    started: list[FuzzServer] = []
    yield started
    for server in started:
        server.close()


def _fresh(started: list[FuzzServer]) -> FuzzServer:
    if started:
        started.pop().close()
    server = FuzzServer()
    started.append(server)
    return server


@pytest.mark.parametrize("resource", RESOURCES, ids=str)
@fuzz_settings(15, steps=1)
@given(data=st.data())
def test_any_write_of_a_kind_is_answered_and_reads_back_valid(
        servers: list[FuzzServer], resource: Resource, data: st.DataObject) -> None:
    server = _fresh(servers)
    strategy = server.strategy(resource)
    ns = "default" if resource.namespaced else None
    s, n = seed_name(resource, "s"), seed_name(resource, "n")
    valid = seed(resource, s, ns, server.kubelet_port)
    created = server.send("POST", collection_path(resource, ns), Body(json_text(valid),
                                                                      "application/json"))
    assert created.status == 201, created

    value = data.draw(variant(strategy, seed(resource, n, ns, server.kubelet_port)))
    body = data.draw(encoded(value, api_version=resource.api_version, kind=resource.kind,
                             message=strategy.schema))
    reply = server.send("POST", collection_path(resource, ns), body,
                        data.draw(query(watch_allowed=False)))
    if reply.ok:
        server.check_readback(resource, ns, n)

    stored = server.stored(resource, ns, s)
    ptype, patch = data.draw(any_patch(stored))
    q = [("fieldManager", "fuzz")] if ptype == APPLY else []
    reply = server.send("PATCH", object_path(resource, ns, s), Body(json_text(patch), ptype), q)
    if reply.ok:
        server.check_readback(resource, ns, s)

    stored = server.stored(resource, ns, s)
    if stored is not None:
        reply = server.send("PUT", object_path(resource, ns, s),
                            data.draw(encoded(data.draw(variant(strategy, stored)))))
        if reply.ok:
            server.check_readback(resource, ns, s)


@pytest.mark.parametrize("resource", REVIEWS, ids=str)
@fuzz_settings(15, steps=1)
@given(data=st.data())
def test_any_review_is_answered(servers: list[FuzzServer], resource: Resource,
                                data: st.DataObject) -> None:
    server = _fresh(servers)
    strategy = server.strategy(resource)
    ns = "default" if resource.namespaced else None
    answered = server.send("POST", collection_path(resource, ns),
                           Body(json_text(review_seed(resource)), "application/json"))
    assert answered.status == 201, answered
    body = data.draw(encoded(data.draw(variant(strategy, review_seed(resource))),
                             api_version=resource.api_version, kind=resource.kind,
                             message=strategy.schema))
    server.send("POST", collection_path(resource, ns), body,
                data.draw(query(watch_allowed=False)))
    # Never stored: nothing but a create is served.
    assert server.send("GET", collection_path(resource, ns)).status == 405
