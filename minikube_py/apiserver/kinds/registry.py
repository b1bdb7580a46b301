"""KindRegistry: every served kind's strategy, found by resource, by URL or by kind."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from minikube_py.api import errors
from minikube_py.api.resources import Resource
from minikube_py.api.selectors import ObjectFilter, build_filter
from minikube_py.apiserver.kinds.base import BodyKind, Strategy
from minikube_py.apiserver.storage import resource_prefix

# The Scale subresource's body kind, whichever kind it scales.
SCALE = BodyKind("autoscaling", "v1", "Scale", "autoscaling.Scale")


class KindRegistry:
    """What the API server serves. The core group comes first, then groups in the order
    their first kind was registered (discovery lists them so)."""

    def __init__(self, strategies: Iterable[Strategy]) -> None:
        self._by_resource: dict[Resource, Strategy] = {}
        self._by_path: dict[tuple[str, str, str], Strategy] = {}
        self._by_kind: dict[tuple[str, str], Strategy] = {}
        self._body_schemas: dict[tuple[str, str], str] = {}
        self._prefixes: list[tuple[bytes, Resource]] = []
        # Grows with every change, so what is built from the registry (discovery) knows
        # when it is stale: custom resources come and go while the server runs.
        self.generation = 0
        for s in strategies:
            self.register(s)

    def register(self, strategy: Strategy) -> None:
        r = strategy.resource
        if r in self._by_resource:
            raise ValueError(f"{r} is registered twice")
        self._by_resource[r] = strategy
        self._by_path[(r.group, r.version, r.plural)] = strategy
        self._by_kind.setdefault((r.api_version, r.kind), strategy)
        if strategy.schema is not None:
            self._body_schemas.setdefault((r.api_version, r.kind), strategy.schema)
        for body in self.subresource_kinds(strategy).values():
            self._body_schemas.setdefault((body.api_version, body.kind), body.schema)
        self._prefixes.append((resource_prefix(r).encode(), r))
        # Longest first: "/registry/events.k8s.io/events/" is not core's "/registry/events/".
        self._prefixes.sort(key=lambda p: -len(p[0]))
        self.generation += 1

    def unregister(self, resource: Resource) -> None:
        """Stop serving `resource` (a custom resource whose definition changed or went)."""
        strategy = self._by_resource.pop(resource, None)
        if strategy is None:
            return
        self._by_path.pop((resource.group, resource.version, resource.plural), None)
        if self._by_kind.get((resource.api_version, resource.kind)) is strategy:
            del self._by_kind[(resource.api_version, resource.kind)]
        self._prefixes.remove(next(p for p in self._prefixes if p[1] == resource))
        self.generation += 1

    def strategy(self, resource: Resource) -> Strategy:
        """404 for a resource no longer served (a custom resource whose CRD went)."""
        strategy = self._by_resource.get(resource)
        if strategy is None:
            raise errors.not_found(resource.plural, "", resource.group)
        return strategy

    def find(self, group: str, version: str, plural: str) -> Strategy | None:
        return self._by_path.get((group, version, plural))

    def for_kind(self, api_version: str, kind: str) -> Strategy | None:
        return self._by_kind.get((api_version, kind))

    def resources(self) -> list[Resource]:
        core = [r for r in self._by_resource if not r.group]
        return core + [r for r in self._by_resource if r.group]

    def message_for(self, api_version: str, kind: str) -> str | None:
        """The schema message of a body of this kind (objects and subresource bodies)."""
        return self._body_schemas.get((api_version, kind))

    def storage_prefixes(self) -> list[tuple[bytes, Resource]]:
        """Where each served resource's objects are stored (versions of one resource share
        a prefix)."""
        return list(self._prefixes)

    def resource_of_key(self, key: bytes) -> Resource | None:
        for prefix, r in self._prefixes:
            if key.startswith(prefix):
                return r
        return None

    @staticmethod
    def subresource_kinds(strategy: Strategy) -> Mapping[str, BodyKind]:
        kinds = dict(strategy.subresource_kinds)
        if strategy.scale is not None:
            kinds["scale"] = SCALE
        return kinds

    def filter(self, resource: Resource, label_selector: str,
               field_selector: str) -> ObjectFilter:
        """A label and field selector for `resource`; 400 for a field it cannot select on."""
        fields = self.strategy(resource).field_labels
        return build_filter(label_selector, field_selector, fields)
