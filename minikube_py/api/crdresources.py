"""The resources a CustomResourceDefinition defines: for the API server that serves them and
for the controllers that must find them (the namespace controller empties them too)."""

from __future__ import annotations

from typing import Any

from minikube_py.api.resources import Resource

Obj = dict[str, Any]


def established(crd: Obj) -> bool:
    return any(c.get("type") == "Established" and c.get("status") == "True"
               for c in (crd.get("status") or {}).get("conditions") or [])


def resources_of(crd: Obj) -> list[tuple[Resource, Obj]]:
    """Every served version of a CRD as a Resource (its accepted names), with the version's
    own fields."""
    spec = crd.get("spec") or {}
    names = (crd.get("status") or {}).get("acceptedNames") or spec.get("names") or {}
    out = []
    for v in spec.get("versions") or []:
        if not v.get("served"):
            continue
        subs = v.get("subresources") or {}
        sub_names = tuple(s for s in ("status", "scale") if s in subs)
        out.append((Resource(str(spec.get("group")), str(v.get("name")),
                             str(names.get("plural")), str(names.get("kind")),
                             spec.get("scope") == "Namespaced",
                             short_names=tuple(names.get("shortNames") or ()),
                             categories=tuple(names.get("categories") or ()),
                             subresources=sub_names), v))
    return out


def namespaced_custom_resources(crds: list[Obj]) -> list[Resource]:
    """One served version of each Established, namespaced CRD (its versions share storage:
    deleting through one deletes the objects of all)."""
    watched = [watched_custom_resource(crd) for crd in crds]
    return [r for r in watched if r is not None and r.namespaced]


def watched_custom_resource(crd: Obj) -> Resource | None:
    """The resource a controller follows a CRD's objects through (its first served version,
    once Established), or None."""
    served = resources_of(crd) if established(crd) else []
    return served[0][0] if served else None


def custom_resource_for_kind(crds: list[Obj], api_version: str, kind: str) -> Resource | None:
    """The served resource of `kind` at `api_version` among the Established CRDs."""
    for crd in crds:
        if not established(crd):
            continue
        for resource, _ in resources_of(crd):
            if resource.api_version == api_version and resource.kind == kind:
                return resource
    return None
