"""Checks every written body passes: kind/apiVersion, unknown fields, and its namespace."""

from __future__ import annotations

from typing import Any

from minikube_py.api import errors
from minikube_py.api.resources import Resource
from minikube_py.apiserver.fieldcheck import check_unknown_fields
from minikube_py.apiserver.jsontypes import check_json_types
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


def check_type(resource: Resource, body: Any) -> None:
    """400 unless the body is an object of the resource's kind with fields of the right JSON
    types; fills in kind and apiVersion."""
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
    if not isinstance(body.setdefault("metadata", {}), dict):
        raise errors.bad_request("metadata must be an object")
    check_json_types(resource, body)


def check_field_validation(resource: Resource, body: dict[str, Any],
                           opts: RequestOptions) -> None:
    """fieldValidation=Strict rejects unknown fields; Warn adds them to opts.warnings."""
    mode = opts.field_validation
    if mode not in ("Strict", "Warn"):
        return
    unknown = check_unknown_fields(resource, body)
    if not unknown:
        return
    if mode == "Strict":
        detail = ", ".join(f'unknown field "{u}"' for u in unknown)
        raise errors.bad_request(f"strict decoding error: {detail}")
    opts.warnings.extend(f'unknown field "{u}"' for u in unknown)
