"""Discovery documents (legacy and aggregated), and the OpenAPI documents beside them."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from minikube_py.api.resources import Resource
from minikube_py.apiserver.kinds.base import ALL_VERBS
from minikube_py.apiserver.kinds.registry import KindRegistry
from minikube_py.apiserver.openapi import OpenAPIDocuments

Obj = dict[str, Any]
VERBS = list(ALL_VERBS)
_SUB_VERBS: dict[str, list[str]] = {
    "status": ["get", "patch", "update"], "scale": ["get", "patch", "update"],
    "binding": ["create"], "eviction": ["create"], "log": ["get"], "finalize": ["update"],
    "token": ["create"], "ephemeralcontainers": ["get", "patch", "update"],
}
VERSION_INFO = {
    "major": "1", "minor": "32", "gitVersion": "v1.32.0", "gitCommit": "minikube-py",
    "gitTreeState": "clean", "buildDate": "2024-12-11T00:00:00Z", "goVersion": "go1.23.3",
    "compiler": "gc", "platform": "linux/amd64",
}


class Discovery:
    """The discovery and OpenAPI documents of what a KindRegistry serves (`openapi` builds
    the latter on first use); `invalidate()` after the registry changes."""

    def __init__(self, kinds: KindRegistry) -> None:
        self._kinds = kinds
        self.openapi = OpenAPIDocuments(kinds)

    def invalidate(self) -> None:
        self.openapi.invalidate()

    def group_versions(self) -> dict[str, list[str]]:
        """group -> versions, groups in registry order (core group "" first), each group's
        versions by kube's version priority (the first is the preferred one)."""
        out: dict[str, list[str]] = {}
        for r in self._kinds.resources():
            versions = out.setdefault(r.group, [])
            if r.version not in versions:
                versions.append(r.version)
        return {g: sorted(vs, key=version_priority) for g, vs in out.items()}

    def resources_in(self, group: str, version: str) -> list[Resource]:
        return [r for r in self._kinds.resources() if r.group == group and r.version == version]

    def api_group_list(self) -> Obj:
        groups = [_group_obj(g, v) for g, v in self.group_versions().items() if g]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def api_group(self, group: str) -> Obj | None:
        versions = self.group_versions().get(group)
        if not group or not versions:
            return None
        return {"kind": "APIGroup", "apiVersion": "v1", **_group_obj(group, versions)}

    def _verbs(self, r: Resource) -> list[str]:
        return list(self._kinds.strategy(r).verbs)

    def _sub_kind(self, r: Resource, sub: str) -> tuple[str, str, str]:
        body = self._kinds.subresource_kinds(self._kinds.strategy(r)).get(sub)
        return (body.group, body.version, body.kind) if body else (r.group, r.version, r.kind)

    def api_resource_list(self, group: str, version: str) -> Obj | None:
        rs = self.resources_in(group, version)
        if not rs:
            return None
        resources: list[Obj] = []
        for r in rs:
            entry: Obj = {"name": r.plural, "singularName": r.singular,
                          "namespaced": r.namespaced, "kind": r.kind,
                          "verbs": self._verbs(r)}
            if r.short_names:
                entry["shortNames"] = list(r.short_names)
            if r.categories:
                entry["categories"] = list(r.categories)
            entry["storageVersionHash"] = hashlib.sha256(str(r).encode()).hexdigest()[:11]
            resources.append(entry)
            for sub in r.subresources:
                sg, sv, sk = self._sub_kind(r, sub)
                sub_entry: Obj = {"name": f"{r.plural}/{sub}", "singularName": "",
                                  "namespaced": r.namespaced, "kind": sk,
                                  "verbs": _SUB_VERBS.get(sub, ["get"])}
                if (sg, sv) != (r.group, r.version):
                    sub_entry["group"], sub_entry["version"] = sg, sv
                resources.append(sub_entry)
        gv = f"{group}/{version}" if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                "resources": resources}

    def _discovery_resource(self, r: Resource) -> Obj:
        entry: Obj = {
            "resource": r.plural,
            "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
            "scope": "Namespaced" if r.namespaced else "Cluster",
            "singularResource": r.singular,
            "verbs": self._verbs(r),
        }
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.categories:
            entry["categories"] = list(r.categories)
        subs = []
        for sub in r.subresources:
            sg, sv, sk = self._sub_kind(r, sub)
            subs.append({"subresource": sub, "responseKind": {"group": sg, "version": sv,
                                                              "kind": sk},
                         "verbs": _SUB_VERBS.get(sub, ["get"])})
        if subs:
            entry["subresources"] = subs
        return entry

    def aggregated(self, core: bool, version: str = "v2") -> Obj:
        """apidiscovery.k8s.io APIGroupDiscoveryList: /api (core) or /apis (named groups)."""
        items = []
        for group, versions in self.group_versions().items():
            if bool(group) == core:
                continue
            items.append({
                "metadata": {"name": group, "creationTimestamp": None},
                "versions": [{"version": v,
                              "resources": [self._discovery_resource(r)
                                            for r in self.resources_in(group, v)],
                              "freshness": "Current"} for v in versions],
            })
        return {"kind": "APIGroupDiscoveryList",
                "apiVersion": f"apidiscovery.k8s.io/{version}", "metadata": {}, "items": items}


_KUBE_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")
_STABILITY = {None: 0, "beta": 1, "alpha": 2}


def version_priority(version: str) -> tuple[int, int, int, str]:
    """The sort key of apimachinery's CompareKubeAwareVersionStrings: GA before beta before
    alpha, higher major then higher minor first; versions that are not kube-like after, in
    lexical order."""
    m = _KUBE_VERSION.match(version)
    if m is None:
        return (3, 0, 0, version)
    return (_STABILITY[m.group(2)], -int(m.group(1)), -int(m.group(3) or 0), "")


def api_versions(server_address: str) -> Obj:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                            "serverAddress": server_address}]}


def _group_obj(group: str, versions: list[str]) -> Obj:
    gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"
