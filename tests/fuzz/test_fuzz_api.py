"""Property-based fuzzing of the API server over HTTP (issue #6): for every served kind,
valid objects and mutations of them in every encoding, every patch type against stored
objects, subresources, query parameters and raw paths. Every answer is below 500 and a JSON
Status when it is an error, comes within a deadline, and logs no ERROR; every accepted write
reads back as an object the typed pass, the kind's validation and the official client take,
and that a no-op and a label patch still change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, rule

from minikube_py.api.resources import NAMESPACES, PODS, Resource
from minikube_py.apiserver.logs import kubelet_address

from .budget import fuzz_settings, fuzz_timeout
from .encodings import JSON_TYPE, YAML_TYPE, Body, encoded, json_text, raw_http, yaml_text
from .harness import FuzzServer, collection_path, object_path
from .kinds import RESOURCES, variant
from .patches import APPLY, any_patch
from .queries import ACCEPT, query
from .seeds import seed
from .values import HOSTILE, HOSTILE_STRINGS, mutated, typed

NAMESPACE_NAMES = st.sampled_from(["default", "default", "default", "fuzz", "missing"])
OBJECT_NAMES = st.one_of(st.sampled_from(["a", "b", "web-1", "x.y", "n"]),
                         st.sampled_from(["", "A", "-a", "a" * 254, "a/b", "..", "\ud800"]))
NODE_NAMES = st.sampled_from(["a", "b", "missing-node", ""])


@dataclass(frozen=True)
class Ref:
    resource: Resource
    namespace: str | None
    name: str


def _maybe_query(data: st.DataObject, **kw: Any) -> list[tuple[str, str]]:
    return data.draw(st.one_of(st.builds(list), query(**kw)))


pytestmark = fuzz_timeout()


class ApiFuzz(RuleBasedStateMachine):
    objects = Bundle("objects")

    def __init__(self) -> None:
        super().__init__()
        self.server = FuzzServer()

    def teardown(self) -> None:
        self.server.close()

    # --- what the rules share ---------------------------------------------------------------

    def _body(self, data: st.DataObject, resource: Resource, value: Any) -> Body:
        strategy = self.server.strategy(resource)
        return data.draw(encoded(value, api_version=resource.api_version, kind=resource.kind,
                                 message=strategy.schema))

    def _current(self, ref: Ref) -> dict[str, Any]:
        stored = self.server.stored(ref.resource, ref.namespace, ref.name)
        if isinstance(stored, dict):
            return stored
        return seed(ref.resource, ref.name, ref.namespace, self.server.kubelet_port)

    def _readback(self, ref: Ref, written: Any = None) -> None:
        name = ref.name
        if isinstance(written, dict) and isinstance(written.get("metadata"), dict) and \
                written.get("kind") == ref.resource.kind:
            name = written["metadata"].get("name") or name
        self.server.check_readback(ref.resource, ref.namespace, name)

    # --- rules --------------------------------------------------------------------------

    @initialize(target=objects)
    def fuzz_namespace(self) -> Ref:
        body = seed(NAMESPACES, "fuzz", None, self.server.kubelet_port)
        reply = self.server.send("POST", collection_path(NAMESPACES, None),
                                 Body(json_text(body), JSON_TYPE))
        assert reply.status == 201, reply
        return Ref(NAMESPACES, None, "fuzz")

    @rule(target=objects, resource=st.sampled_from(RESOURCES), data=st.data())
    def create(self, resource: Resource, data: st.DataObject) -> Ref:
        ns = data.draw(NAMESPACE_NAMES) if resource.namespaced else None
        name = data.draw(OBJECT_NAMES)
        strategy = self.server.strategy(resource)
        value = data.draw(variant(strategy, seed(resource, name, ns,
                                                 self.server.kubelet_port)))
        reply = self.server.send("POST", collection_path(resource, ns),
                                 self._body(data, resource, value),
                                 _maybe_query(data, watch_allowed=False))
        ref = Ref(resource, ns, name)
        if reply.ok:
            self._readback(ref, reply.json())
        return ref

    @rule(ref=objects, data=st.data())
    def update(self, ref: Ref, data: st.DataObject) -> None:
        strategy = self.server.strategy(ref.resource)
        current = self._current(ref)
        if data.draw(st.booleans()):
            current.get("metadata", {}).pop("resourceVersion", None)
        sub = data.draw(st.sampled_from([None, None, "status"]))
        reply = self.server.send(
            "PUT", object_path(ref.resource, ref.namespace, ref.name, sub),
            self._body(data, ref.resource, data.draw(variant(strategy, current))),
            _maybe_query(data, watch_allowed=False))
        if reply.ok:
            self._readback(ref)

    @rule(ref=objects, data=st.data())
    def patch(self, ref: Ref, data: st.DataObject) -> None:
        subs = [None, None, None, "status", "scale"]
        sub = data.draw(st.sampled_from(subs))
        path = object_path(ref.resource, ref.namespace, ref.name, sub)
        target = self._current(ref)
        if sub == "scale":
            scale = self.server.send("GET", path)
            target = scale.json() if scale.status == 200 else {"spec": {"replicas": 1}}
        ptype, patch = data.draw(any_patch(target))
        if ptype == APPLY and data.draw(st.booleans()):
            body = Body(data.draw(yaml_text(patch)), ptype)
        elif data.draw(st.integers(0, 9)) == 0:
            body = data.draw(encoded(patch, json_type=ptype, yaml_type=ptype))
        else:
            body = Body(json_text(patch), ptype)
        q = _maybe_query(data, watch_allowed=False)
        if ptype == APPLY and data.draw(st.integers(0, 4)):
            q.append(("fieldManager", "fuzz"))
        reply = self.server.send("PATCH", path, body, q)
        if reply.ok:
            self._readback(ref)

    @rule(ref=objects, node=NODE_NAMES, data=st.data())
    def bind(self, ref: Ref, node: str, data: st.DataObject) -> None:
        if ref.resource is not PODS:
            return
        binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": ref.name},
                   "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
        if data.draw(st.booleans()):
            binding = data.draw(mutated(binding))
        reply = self.server.send("POST", object_path(PODS, ref.namespace, ref.name, "binding"),
                                 self._body(data, PODS, binding), _maybe_query(data))
        if reply.ok:
            self._readback(ref)

    @rule(ref=objects, data=st.data())
    def evict(self, ref: Ref, data: st.DataObject) -> None:
        if ref.resource is not PODS:
            return
        eviction = {"apiVersion": "policy/v1", "kind": "Eviction",
                    "metadata": {"name": ref.name},
                    "deleteOptions": data.draw(typed("meta.DeleteOptions"))}
        if data.draw(st.booleans()):
            eviction = data.draw(mutated(eviction))
        reply = self.server.send("POST", object_path(PODS, ref.namespace, ref.name, "eviction"),
                                 self._body(data, PODS, eviction), _maybe_query(data))
        if reply.ok:
            self._readback(ref)

    @rule(ref=objects, data=st.data())
    def finalize(self, ref: Ref, data: st.DataObject) -> None:
        if ref.resource is not NAMESPACES:
            return
        current = self._current(ref)
        current["spec"] = {"finalizers": data.draw(st.one_of(
            st.builds(list), st.lists(st.sampled_from(["kubernetes", "x/y", ""]), max_size=2),
            HOSTILE))}
        reply = self.server.send("PUT", object_path(NAMESPACES, None, ref.name, "finalize"),
                                 self._body(data, NAMESPACES, data.draw(mutated(current))
                                            if data.draw(st.booleans()) else current))
        if reply.ok:
            self._readback(ref)

    @rule(ref=objects, data=st.data())
    def logs(self, ref: Ref, data: st.DataObject) -> None:
        if ref.resource is not PODS or not self._log_stays_local(ref):
            return
        self.server.send("GET", object_path(PODS, ref.namespace, ref.name, "log"),
                         query=data.draw(query(watch_allowed=False)))

    def _log_stays_local(self, ref: Ref) -> bool:
        """pods/log dials the node's kubelet: only when that is the fuzzer's dead port."""
        pod = self.server.stored(PODS, ref.namespace, ref.name)
        node_name = ((pod or {}).get("spec") or {}).get("nodeName")
        if not node_name:
            return True
        from minikube_py.api.resources import NODES
        node = self.server.stored(NODES, None, node_name)
        if node is None:
            return True
        try:
            return kubelet_address(node) == ("127.0.0.1", self.server.kubelet_port)
        except Exception:
            return True  # refused before dialling anything

    @rule(ref=objects, data=st.data())
    def read(self, ref: Ref, data: st.DataObject) -> None:
        where = data.draw(st.sampled_from(["object", "collection", "all", "status", "scale"]))
        if where == "collection":
            path = collection_path(ref.resource, ref.namespace)
        elif where == "all":
            path = collection_path(ref.resource, None)
        else:
            path = object_path(ref.resource, ref.namespace, ref.name,
                               None if where == "object" else where)
        q = data.draw(query())
        self.server.send("GET", path, query=q, accept=data.draw(ACCEPT),
                         stream=any(k == "watch" for k, _ in q) or "/watch/" in path)

    @rule(ref=objects, data=st.data())
    def delete(self, ref: Ref, data: st.DataObject) -> None:
        options = data.draw(st.one_of(st.none(), typed("meta.DeleteOptions"), HOSTILE))
        body = None if options is None else self._body(data, ref.resource, options)
        collection = data.draw(st.integers(0, 9)) == 0
        path = collection_path(ref.resource, ref.namespace) if collection else \
            object_path(ref.resource, ref.namespace, ref.name)
        reply = self.server.send("DELETE", path, body, _maybe_query(data, watch_allowed=False))
        if reply.ok and not collection:
            self._readback(ref)

    @rule(data=st.data())
    def raw_request(self, data: st.DataObject) -> None:
        """Paths and methods beyond the resource routes (never pods/log or exec: those dial
        a kubelet, which only the `logs` rule may, after checking where it is)."""
        segments = st.one_of(st.sampled_from(
            ["api", "apis", "v1", "apps", "namespaces", "default", "pods", "deployments",
             "status", "scale", "watch", "binding", "finalize", "version", "healthz",
             "openapi", "v2", "v3", "", "..", "%2F", "%00", "x"]),
            HOSTILE_STRINGS.map(lambda s: s.encode(errors="surrogatepass").hex()[:12]))
        path = "/" + "/".join(data.draw(st.lists(segments, max_size=7)))
        method = data.draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD",
                                            "OPTIONS", "TRACE", "FOO"]))
        body = None if method in ("GET", "HEAD") else data.draw(encoded(data.draw(HOSTILE)))
        self.server.send(method, path, body, data.draw(query(watch_allowed=False)),
                         accept=data.draw(ACCEPT))

    @rule(data=raw_http())
    def raw_bytes(self, data: bytes) -> None:
        """Malformed HTTP straight onto a connection."""
        self.server.send_raw(data)

    @rule(data=st.data())
    def yaml_document(self, data: st.DataObject) -> None:
        """A whole YAML body for a kind, with anchors, aliases and tags."""
        resource = data.draw(st.sampled_from(RESOURCES))
        ns = "default" if resource.namespaced else None
        value = seed(resource, "y", ns, self.server.kubelet_port)
        body = Body(data.draw(yaml_text(value)), YAML_TYPE)
        reply = self.server.send("POST", collection_path(resource, ns), body)
        if reply.ok:
            self.server.check_readback(resource, ns, reply.json()["metadata"]["name"])


ApiFuzz.TestCase.settings = fuzz_settings(100, steps=25)
TestApiFuzz = ApiFuzz.TestCase
