"""Objects as a kind's Go types would hold them: the typed half of the decode stage.

kube-apiserver decodes every body into typed structs before defaulting, admission and
validation see it. Here that is one pass along the kind's schema (jsontypes): a wrong type
is a 400 "cannot be handled as a Pod", an unknown field is dropped (fieldValidation=Warn,
kube's default, says so in a Warning header; Strict refuses it; Ignore is silent), a null
field is absent. The in-process client's bodies take the same pass.
"""

from __future__ import annotations

import json
from typing import Any

from minikube_py.api import errors
from minikube_py.api.errors import ApiError
from minikube_py.api.resources import Resource
from minikube_py.apiserver.jsontypes import type_object
from minikube_py.apiserver.kinds.base import Strategy
from minikube_py.apiserver.options import RequestOptions


def namespace_for(resource: Resource, namespace: str | None,
                  body: dict[str, Any] | None = None) -> str | None:
    """The request's namespace (None for cluster-scoped resources), written into the body."""
    if not resource.namespaced:
        return None
    meta: dict[str, Any] = {}
    if body is not None:
        # An empty or missing metadata must receive the namespace, not a throwaway dict.
        if body.get("metadata") is None:
            body["metadata"] = {}
        if isinstance(body["metadata"], dict):
            meta = body["metadata"]
    body_ns = meta.get("namespace") or ""
    if namespace and body_ns and body_ns != namespace:
        raise errors.bad_request("the namespace of the provided object does not match the "
                                 "namespace sent on the request")
    ns = namespace or body_ns or "default"
    if body is not None:
        meta["namespace"] = ns
    return ns


def typed_object(strategy: Strategy, body: Any, opts: RequestOptions, *,
                 patched: bool = False) -> dict[str, Any]:
    """400 unless `body` is an object of the strategy's kind with fields of the right JSON
    types; fills in kind and apiVersion and drops unknown fields (as fieldValidation says).
    `patched`: the object a patch produced, not a request's body."""
    resource = strategy.resource
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request must be a JSON object")
    kind, api_version = body.get("kind"), body.get("apiVersion")
    if kind and kind != resource.kind:
        raise errors.bad_request(f"the API version in the data ({api_version}) does not "
                                 f"match the expected API version ({resource.api_version})"
                                 if api_version and api_version != resource.api_version else
                                 f'kind "{kind}" does not match the expected kind '
                                 f'"{resource.kind}"')
    if api_version and api_version != resource.api_version:
        raise errors.bad_request(f"the API version in the data ({api_version}) does not "
                                 f"match the expected API version ({resource.api_version})")
    body["kind"], body["apiVersion"] = resource.kind, resource.api_version
    if body.get("metadata") is None:
        body["metadata"] = {}
    if not isinstance(body["metadata"], dict):
        raise errors.bad_request("metadata must be an object")
    type_checked(strategy, body, opts, patched=patched)
    return body


def type_checked(strategy: Strategy, obj: dict[str, Any], opts: RequestOptions, *,
                 patched: bool = False) -> None:
    """The schema pass alone (subresource bodies keep the stored kind and apiVersion)."""
    if strategy.schema is None:
        error, unknown = strategy.prune(obj)
    else:
        typed = type_object(strategy.schema, obj)
        error, unknown = typed.error, typed.unknown
    resource = strategy.resource
    version = resource.api_version.rsplit("/", 1)[-1]
    cannot = f'{resource.kind} in version "{version}" cannot be handled as a {resource.kind}: '
    if error is not None:
        raise ApiError(400, "BadRequest", cannot + error)
    if unknown:
        # kube's create and update handlers say which kind could not be decoded (their
        # transformDecodeError); its patch handler reports the strict error alone.
        _report_unknown(unknown, opts, "" if patched else cannot)


def _report_unknown(unknown: list[str], opts: RequestOptions, prefix: str) -> None:
    if opts.field_validation == "Strict":
        detail = ", ".join(f'unknown field "{u}"' for u in unknown)
        raise errors.bad_request(f"{prefix}strict decoding error: {detail}")
    if opts.field_validation == "Warn":
        opts.warnings.extend(f'unknown field "{u}"' for u in unknown)


def strict_duplicates(raw: bytes) -> list[str]:
    """The fields a JSON body sets twice (fieldValidation=Strict refuses them, as kube's
    strict decoder does); only Strict pays for the extra parse."""
    found: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _ in items:
            if key in seen:
                found.append(key)
            seen.add(key)
        return dict(items)

    try:
        json.loads(raw, object_pairs_hook=pairs)
    except (ValueError, RecursionError):
        return []
    return found
