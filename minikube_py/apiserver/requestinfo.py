"""The first stage: what a request asks for, read from its method and path alone (kube's
RequestInfoFactory), so that authentication and authorization can judge it before any body
is read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web

from minikube_py.apiserver.kinds.base import Strategy
from minikube_py.apiserver.kinds.registry import KindRegistry

_READ_VERBS = {"GET": "get", "HEAD": "get"}
_WRITE_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """A resource request (`strategy` set) or a non-resource one (/version, discovery)."""

    path: str
    verb: str  # get list watch create update patch delete deletecollection; or the method
    strategy: Strategy | None = None
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None
    # /api/VERSION or /apis/GROUP/VERSION without a resource: its discovery document.
    group_version: tuple[str, str] | None = None
    # A list or watch's selectors (the Node authorizer lets a node list only its own pods).
    field_selector: str = ""
    label_selector: str = ""
    # A resource request about (API group, resource) by name alone, served or not: what a
    # SubjectAccessReview or an impersonation check asks about.
    about: tuple[str, str] | None = None

    @property
    def is_resource_request(self) -> bool:
        return self.strategy is not None or self.about is not None

    @property
    def api_group(self) -> str:
        if self.strategy is not None:
            return self.strategy.resource.group
        return self.about[0] if self.about is not None else ""

    @property
    def resource(self) -> str:
        """The resource's plural ("" for a non-resource request)."""
        if self.strategy is not None:
            return self.strategy.resource.plural
        return self.about[1] if self.about is not None else ""


# Where the handler chain keeps an HTTP request's info, for the stages after the first.
INFO_KEY = web.RequestKey("request_info", RequestInfo)


def request_info(method: str, path: str, query: Mapping[str, str],
                 kinds: KindRegistry) -> RequestInfo | None:
    """What the request asks for; None when no served resource matches (404)."""
    path = path.rstrip("/") or "/"
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 2:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return RequestInfo(path, method.lower())
    if not rest:
        return RequestInfo(path, method.lower(), group_version=(group, version))
    watch = False
    if rest[0] == "watch":
        watch, rest = True, rest[1:]
    namespace: str | None = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        inner = kinds.find(group, version, rest[2])
        if inner is not None and inner.resource.namespaced:
            namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        return None
    strategy = kinds.find(group, version, rest[0])
    if strategy is None:
        return None
    resource = strategy.resource
    if namespace is not None and not resource.namespaced:
        return None
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if sub is not None and sub not in resource.subresources and \
            sub not in ("exec", "attach", "portforward"):
        return None
    if resource.namespaced and namespace is None and name is not None:
        return None
    verb = _verb(method, name, watch or _flag(query, "watch"))
    selectors = (query.get("fieldSelector", ""), query.get("labelSelector", "")) \
        if verb in ("list", "watch", "deletecollection") else ("", "")
    return RequestInfo(path, verb, strategy, namespace, name, sub,
                       field_selector=selectors[0], label_selector=selectors[1])


def _flag(query: Mapping[str, str], name: str) -> bool:
    return query.get(name, "").lower() in ("true", "1")


def _verb(method: str, name: str | None, watch: bool) -> str:
    if method in _READ_VERBS:
        if watch:
            return "watch"
        return "get" if name else "list"
    verb = _WRITE_VERBS.get(method, method.lower())
    if verb == "delete" and not name:
        return "deletecollection"
    return verb
