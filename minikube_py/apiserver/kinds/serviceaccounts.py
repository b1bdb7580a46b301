"""ServiceAccounts, and their TokenRequest subresource (`serviceaccounts/token`, what
`kubectl create token` and the kubelet's projected tokens ask for)."""

from __future__ import annotations

from typing import Any

from minikube_py.api import errors
from minikube_py.api.errors import ApiError
from minikube_py.api.resources import NODES, PODS, SECRETS, SERVICEACCOUNTS, Resource
from minikube_py.api.timefmt import rfc3339
from minikube_py.apiserver.bodies import type_checked
from minikube_py.apiserver.kinds.base import BodyKind, Obj, Printer, Strategy
from minikube_py.apiserver.nodeauthz import node_identity
from minikube_py.apiserver.options import RequestOptions
from minikube_py.apiserver.rest.context import RestContext
from minikube_py.apiserver.satokens import (
    DEFAULT_EXPIRATION,
    MAX_EXPIRATION,
    MIN_EXPIRATION,
    Ref,
    TokenIssuer,
    effective_expiration,
)
from minikube_py.apiserver.tables_format import AGE_DESC, NAME_DESC, Row, column, since

TOKEN_REQUEST = BodyKind("authentication.k8s.io", "v1", "TokenRequest",
                         "authentication.TokenRequest")
# The kinds a token may be bound to (kube's TokenRequest): its life ends with theirs.
_BINDABLE: dict[str, Resource] = {"Pod": PODS, "Secret": SECRETS, "Node": NODES}

SERVICEACCOUNT_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Secrets", "Secrets is a list of the secrets in the same namespace that pods running "
                      "using this ServiceAccount are allowed to use."),
    column("Age", AGE_DESC),
]


def serviceaccount_row(sa: Obj, now: float) -> Row:
    meta = sa.get("metadata") or {}
    return [meta.get("name", ""), len(sa.get("secrets") or []),
            since(meta.get("creationTimestamp"), now)]



class ServiceAccountStrategy(Strategy):
    printer = Printer(SERVICEACCOUNT_COLUMNS, serviceaccount_row)
    schema = "core.ServiceAccount"
    subresource_kinds = {"token": TOKEN_REQUEST}

    def __init__(self, resource: Resource, issuer: TokenIssuer,
                 audiences: tuple[str, ...]) -> None:
        super().__init__(resource)
        self._issuer = issuer
        self._audiences = audiences
        self.post_subresources = {"token": self.create_token}

    async def create_token(self, rest: RestContext, name: str, namespace: str | None,
                           body: Obj, opts: RequestOptions) -> Obj:
        """POST serviceaccounts/NAME/token: a token for the account, as kube issues it."""
        request = self._typed_request(body, name, opts)
        spec = request["spec"]
        ns = namespace or "default"
        node = node_identity(opts.user) if opts.user is not None else None
        if node is not None:
            await self._node_restriction(rest, node, ns, name, spec.get("boundObjectRef"))
        sa = await rest.objects.get(SERVICEACCOUNTS, ns, name)
        audiences = tuple(spec.get("audiences") or self._audiences)
        requested = spec.get("expirationSeconds", DEFAULT_EXPIRATION)
        bound = await self._bound_object(rest, ns, name, spec.get("boundObjectRef"))
        # kube extends only the kubelet's tokens: bound to a pod, for the API's audiences.
        extend = "Pod" in bound and set(audiences) <= set(self._audiences)
        expiration, warn_after = effective_expiration(requested, extend=extend)
        account = Ref(name, sa["metadata"]["uid"])
        token, expires = self._issuer.issue(
            ns, account, audiences=audiences, expiration_seconds=expiration,
            pod=bound.get("Pod"), secret=bound.get("Secret"), node=bound.get("Node"),
            warn_after_seconds=warn_after)
        return {"kind": "TokenRequest", "apiVersion": TOKEN_REQUEST.api_version,
                "metadata": {"name": name, "namespace": ns,
                             "creationTimestamp": None},
                "spec": {**spec, "audiences": list(audiences),
                         "expirationSeconds": requested},
                # As kube's: the expiry asked for, even when the token's own is extended.
                "status": {"token": token,
                           "expirationTimestamp": rfc3339(expires - expiration + requested)}}

    def _typed_request(self, body: Obj, name: str, opts: RequestOptions) -> Obj:
        """The body as a TokenRequest: typed, its expiration within kube's bounds."""
        kind = body.get("kind")
        if kind not in (None, "", "TokenRequest"):
            raise errors.bad_request(f'kind "{kind}" does not match the expected kind '
                                     '"TokenRequest"')
        body = {**body, "kind": "TokenRequest", "apiVersion": TOKEN_REQUEST.api_version}
        if body.get("metadata") is None:
            body["metadata"] = {}
        if body.get("spec") is None:
            body["spec"] = {}
        type_checked(_TOKEN_REQUEST_TYPES, body, opts)
        seconds = body["spec"].get("expirationSeconds", DEFAULT_EXPIRATION)
        if seconds < MIN_EXPIRATION:
            raise errors.invalid("TokenRequest", name, [errors.Cause(
                "FieldValueInvalid", f"Invalid value: {seconds}: may not specify a duration "
                "less than 10 minutes", "spec.expirationSeconds")], "authentication.k8s.io")
        if seconds > MAX_EXPIRATION:
            raise errors.invalid("TokenRequest", name, [errors.Cause(
                "FieldValueTooLong", f"Invalid value: {seconds}: may not specify a duration "
                "longer than 2^32 seconds", "spec.expirationSeconds")],
                "authentication.k8s.io")
        return body

    @staticmethod
    async def _node_restriction(rest: RestContext, node: str, namespace: str, account: str,
                                ref: Any) -> None:
        """kube's NodeRestriction for a node's TokenRequest: bound to a pod (by uid) that
        is scheduled on that node, so one node cannot mint tokens for another's pods."""
        def refused(why: str) -> ApiError:
            return ApiError(403, "Forbidden", f'serviceaccounts "{account}" is forbidden: {why}',
                            {"name": account, "kind": "serviceaccounts"})

        if not ref or ref.get("apiVersion") != "v1" or ref.get("kind") != "Pod" or \
                not ref.get("name"):
            raise refused("node requested token not bound to a pod")
        if not ref.get("uid"):
            raise refused("node requested token with a pod binding without a uid")
        try:
            pod = await rest.objects.get(PODS, namespace, ref["name"])
        except ApiError as e:
            if e.code == 404:
                raise errors.not_found(PODS.plural, ref["name"]) from None
            raise
        if pod["metadata"].get("uid") != ref["uid"]:
            raise refused(f"the UID in the bound object reference ({ref['uid']}) does not "
                          "match the UID in record. The object might have been deleted and "
                          "then recreated")
        if (pod.get("spec") or {}).get("nodeName") != node:
            raise refused("node requested token bound to a pod scheduled on a different node")

    @staticmethod
    async def _bound_object(rest: RestContext, namespace: str, account: str,
                            ref: Any) -> dict[str, Ref]:
        """The object the token is bound to (it must exist, and have the uid asked for)."""
        if not ref:
            return {}
        kind = ref.get("kind") or ""
        resource = _BINDABLE.get(kind)
        if resource is None:
            raise errors.bad_request(f'cannot bind token to object of type {kind!r}: only '
                                     'Pod, Secret and Node may be bound')
        name = ref.get("name") or ""
        try:
            obj = await rest.objects.get(resource, namespace if resource.namespaced else None,
                                         name)
        except ApiError as e:
            if e.code == 404:
                raise errors.not_found(resource.plural, name, resource.group) from None
            raise
        meta = obj["metadata"]
        if ref.get("uid") and ref["uid"] != meta.get("uid"):
            raise errors.conflict(resource.plural, name, f"the UID in the bound object "
                                  f"reference ({ref['uid']}) does not match the UID in "
                                  f"record. The object might have been deleted and then "
                                  f"recreated", resource.group)
        if resource is PODS and (obj.get("spec") or {}).get("serviceAccountName") != account:
            raise errors.bad_request(f'cannot bind token for serviceaccount "{account}" to '
                                     f'pod running with different serviceaccount name.')
        return {kind: Ref(name, meta.get("uid", ""))}


class _TokenRequestTypes(Strategy):
    """Only the schema of a TokenRequest body, for the typed pass."""

    schema = TOKEN_REQUEST.schema


_TOKEN_REQUEST_TYPES = _TokenRequestTypes(Resource("authentication.k8s.io", "v1",
                                                   "tokenrequests", "TokenRequest", True))


def strategy(issuer: TokenIssuer, audiences: tuple[str, ...]) -> ServiceAccountStrategy:
    return ServiceAccountStrategy(SERVICEACCOUNTS, issuer, audiences)
