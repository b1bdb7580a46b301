"""ApiService: the API server behind its HTTP layer, and the in-process ApiClient.

It builds the parts once (kinds, object store, admission, the verbs' context, the watch
fan-out) and hands each request to its verb in `rest/`; the HTTP layer and in-process
components reach storage through the same methods, so through the same decode, admission,
strategy and validation stages.
"""

from __future__ import annotations

import random
import ssl
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any, NoReturn

from minikube_py.api import errors
from minikube_py.api.errors import ApiError
from minikube_py.api.leasedaddresses import ServedAddress
from minikube_py.api.resources import CUSTOMRESOURCEDEFINITIONS, Resource
from minikube_py.api.selectors import ObjectFilter
from minikube_py.api.timefmt import rfc3339
from minikube_py.apiserver.admission import default_admission
from minikube_py.apiserver.authn import LOOPBACK, Authenticator, UserInfo
from minikube_py.apiserver.authn_tokens import BootstrapTokens, ServiceAccountTokens
from minikube_py.apiserver.authz import (
    Authorizer,
    SystemMasters,
    UserRules,
    Verdict,
    authorize,
    decide,
    rules_for,
)
from minikube_py.apiserver.authzstate import RBAC_KINDS, AuthorizationState
from minikube_py.apiserver.bodies import namespace_for, type_checked, typed_object
from minikube_py.apiserver.bootstrap import ensure_builtin_objects, kubernetes_service_ip
from minikube_py.apiserver.certificatesadmission import CertificateSignerAuthorization
from minikube_py.apiserver.compaction import compaction_loop
from minikube_py.apiserver.customresources.controller import CustomResourceServing
from minikube_py.apiserver.inprocess import InProcessClient
from minikube_py.apiserver.ipalloc import ServiceAllocations
from minikube_py.apiserver.kinds import resourcemetrics
from minikube_py.apiserver.kinds.base import ReadSource, Strategy
from minikube_py.apiserver.kinds.builtin import builtin_kinds
from minikube_py.apiserver.kubernetesservice import KubernetesServiceReconciler
from minikube_py.apiserver.logs import (
    KubeletLogStream,
    kubelet_address,
    kubelet_base_url,
    open_kubelet_log,
)
from minikube_py.apiserver.metricsapi.objects import as_object, watch_not_supported
from minikube_py.apiserver.metricsapi.reader import ResourceMetrics
from minikube_py.apiserver.metricsapi.source import KubeletSummaries
from minikube_py.apiserver.nodeauthz import NodeAuthorizer
from minikube_py.apiserver.objectstore import ObjectStore, Written
from minikube_py.apiserver.options import RequestOptions
from minikube_py.apiserver.podsecurity.policy import PodSecurityConfig
from minikube_py.apiserver.rbac.authorizer import RbacAuthorizer
from minikube_py.apiserver.rbac.bootstraproles import ensure_bootstrap_policy
from minikube_py.apiserver.rbac.escalation import RbacEscalationCheck
from minikube_py.apiserver.requestinfo import RequestInfo
from minikube_py.apiserver.rest import create, delete, read, scale, update, watch
from minikube_py.apiserver.rest.context import RestContext
from minikube_py.apiserver.rest.read import ListResult
from minikube_py.apiserver.satokens import (
    TokenIssuer,
    TokenVerifier,
    new_signing_key,
)
from minikube_py.apiserver.serverleases import ServerLeases
from minikube_py.apiserver.storage import decode_kv, dumps, kv_json
from minikube_py.apiserver.watchcache import CachedEvent, WatchFanout
from minikube_py.store.types import KV
from minikube_py.tasks import TaskSet

Obj = dict[str, Any]
# kube-apiserver's --endpoint-reconciler-type=lease: each server renews its record every
# 10 s (DefaultEndpointReconcilerInterval) with a TTL of 15 s (masterLeaseTTL).
LEASE_RENEW_SECONDS = 10.0
# How long a CRD's create waits for its kinds to be served before it answers.
CRD_SETTLE_SECONDS = 2.0
LEASE_TTL_SECONDS = 15.0
# How often the kubelets sample usage (their housekeeping interval): the resource metrics'
# window; one read of a kubelet's summary serves for half of it (a burst of requests reads
# each kubelet once, and an answer from before its first rates does not stand long).
DEFAULT_METRICS_RESOLUTION = 10.0


def standard_authorizers(state: AuthorizationState) -> list[Authorizer]:
    """kube-apiserver's `--authorization-mode=Node,RBAC`, after the privileged group."""
    return [SystemMasters(), NodeAuthorizer(state.graph), RbacAuthorizer(state.policy)]


class ApiService(InProcessClient):
    """The API server behind the HTTP layer. It is also the in-process ApiClient of the API
    server itself (the loopback identity, system:apiserver in system:masters);
    `as_user(user)` is the client of a component that acts as someone else."""

    def __init__(self, kv: KV, *, clock: Callable[[], float] = time.time,
                 rng: random.Random | None = None, compaction_interval: float = 300.0,
                 bookmark_interval: float = 60.0, service_cidr: str = "10.96.0.0/12",
                 kubernetes_service_target_port: int = 6443,
                 authorizers: list[Authorizer] | None = None,
                 token_issuer: TokenIssuer | None = None,
                 kubelet_tls: ssl.SSLContext | None = None,
                 pod_security: PodSecurityConfig | None = None,
                 service_account_admission: bool = False,
                 metrics_resolution: float = DEFAULT_METRICS_RESOLUTION) -> None:
        super().__init__(self, LOOPBACK)
        # The RBAC policy and the Node authorizer's graph, fed from the store; the
        # authorizers are kube's standard chain unless the caller gives others.
        self.authz_state = AuthorizationState()
        self.authorizers: list[Authorizer] = authorizers if authorizers is not None \
            else standard_authorizers(self.authz_state)
        # How the API server reaches kubelets (logs, exec, port-forward): TLS with its
        # kubelet-client certificate, checking theirs against the CA; None: plain HTTP.
        self.kubelet_tls = kubelet_tls
        self.kv = kv
        self.clock = clock
        self.rng = rng or random.Random()
        self.compaction_interval = compaction_interval
        self.bookmark_interval = bookmark_interval
        self.allocations = ServiceAllocations(kv, service_cidr)
        # Without the cluster's key (tests, a store of its own), tokens are signed with a
        # key that lives as long as the service.
        self.token_issuer = token_issuer or TokenIssuer(new_signing_key(), clock=clock)
        self.token_audiences: tuple[str, ...] = (self.token_issuer.issuer,)
        verifier = TokenVerifier([self.token_issuer.public_key], clock=clock,
                                 audiences=self.token_audiences)
        self._tokens: list[ServiceAccountTokens | BootstrapTokens] = [
            ServiceAccountTokens(verifier, self.read_stored, clock),
            BootstrapTokens(self.read_stored, clock)]
        self.kinds = builtin_kinds(self.allocations, self.token_issuer, self.token_audiences,
                                   reviewer=self)
        # The resource metrics API, read from the kubelets (what metrics-server would do).
        self.kubelet_summaries = KubeletSummaries(self._kubelet_url, kubelet_tls,
                                                  ttl=metrics_resolution / 2)
        self.resource_metrics = ResourceMetrics(self._list_stored, self.read_stored,
                                                self.kubelet_summaries,
                                                window=metrics_resolution, clock=clock)
        self.kinds.register(resourcemetrics.node_strategy(self.resource_metrics))
        self.kinds.register(resourcemetrics.pod_strategy(self.resource_metrics))
        self.objects = ObjectStore(kv, clock)
        escalation = RbacEscalationCheck(self.authz_state.policy, self.decide)
        self.rest = RestContext(self.objects, self.kinds,
                                default_admission(self.objects, pod_security, [
                                    escalation, CertificateSignerAuthorization(self.decide)],
                                                  service_accounts=service_account_admission,
                                                  rng=self.rng, clock=clock),
                                clock, self.rng)
        self.fanout = WatchFanout(kv, self.kinds.resource_of_key)
        self._kubernetes_target_port = kubernetes_service_target_port
        self.custom_resources = CustomResourceServing(self)
        self._tasks = TaskSet("apiserver")

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        # The authorizers' state as of one revision, then every change after it, fed by
        # the fan-out before any watcher hears of it.
        revision = self.kv.revision
        await self.authz_state.load(self.kv, revision)
        self.fanout.listeners.append((self.authz_state.prefixes(), self.authz_state.on_event))
        self.fanout.listeners.append((self.custom_resources.prefixes(),
                                      self.custom_resources.on_event))
        await self.fanout.start(self._tasks, revision)
        await ensure_builtin_objects(self, self._kubernetes_target_port)
        await ensure_bootstrap_policy(self)
        # The CRDs already stored are served before the first request, then kept up.
        await self.custom_resources.load()
        self._tasks.spawn("crd-serving", self.custom_resources.run(), critical=True)
        self._tasks.spawn("compaction", compaction_loop(self.kv, self.compaction_interval),
                          critical=True)

    async def run(self) -> NoReturn:
        """Until a part the API server cannot go on without (the watch fan-out, the
        compactor) ends: then raise, so the supervisor stops the cluster."""
        await self._tasks.wait_failure()

    async def stop(self) -> None:
        await self._tasks.close()
        self.fanout.close_watchers()

    def now(self) -> str:
        return rfc3339(self.clock())

    def authorize(self, user: UserInfo, info: RequestInfo) -> None:
        """The authorization stage, for HTTP requests and in-process clients alike."""
        authorize(self.authorizers, user, info)

    def decide(self, user: UserInfo, info: RequestInfo) -> Verdict:
        """What the authorizers say, without refusing (access reviews, escalation checks)."""
        return decide(self.authorizers, user, info)

    def rules_for(self, user: UserInfo, namespace: str) -> UserRules:
        """What the authorizers that can list rules say the user may do (rules reviews)."""
        return rules_for(self.authorizers, user, namespace)

    def _written(self, resource: Resource, written: Written, opts: RequestOptions) -> Written:
        if resource in RBAC_KINDS and not opts.dry_run and not written.deleted:
            self.authz_state.written(resource, written.obj)
        return written

    def kubernetes_service_reconciler(self, holder: str, address: str | None, port: int, *,
                                      interval: float = LEASE_RENEW_SECONDS,
                                      ttl: float = LEASE_TTL_SECONDS,
                                      ) -> KubernetesServiceReconciler:
        """What keeps the `kubernetes` Service leading pods to every live API server, this
        one (`holder`) at `address`:`port` among them (None: no address pods reach); it
        acts as the API server itself, as kube's does."""
        return KubernetesServiceReconciler(
            self, ServerLeases(self.kv, holder, ttl), cluster_ip=kubernetes_service_ip(self),
            own=None if address is None else ServedAddress(address, port), port=port,
            interval=interval, clock=self.clock)

    def as_user(self, user: UserInfo) -> InProcessClient:
        """The in-process client of a component acting as `user`."""
        return InProcessClient(self, user)

    async def read_stored(self, resource: Resource, namespace: str | None,
                          name: str) -> Obj | None:
        """An object as stored, or None: for the server's own checks (no authorization)."""
        found = await self.objects.read(resource, namespace, name)
        return decode_kv(found) if found is not None else None

    def token_authenticators(self) -> list[Authenticator]:
        """Bearer-token authenticators for this service: ServiceAccount tokens signed by
        its issuer, and bootstrap tokens; the ones TokenReview asks, with their cache."""
        return [*self._tokens]

    async def review_token(self, token: str) -> tuple[UserInfo | None, str]:
        """What the bearer-token authenticators say of a token (TokenReview)."""
        for authenticator in self._tokens:
            try:
                user = await authenticator.authenticate_token(token)
            except ApiError:
                return None, "invalid bearer token"
            if user is not None:
                return user, ""
        return None, ""

    def strategy(self, resource: Resource) -> Strategy:
        return self.kinds.strategy(resource)

    def _reads(self, resource: Resource) -> ReadSource | None:
        """Where a kind that is read, not stored, is read from (None for stored kinds)."""
        strategy = self.kinds.find(resource.group, resource.version, resource.plural)
        return strategy.reads if strategy is not None else None

    def _refuse_writes(self, resource: Resource) -> None:
        if self._reads(resource) is not None:
            raise errors.method_not_allowed(f"the server does not allow this method on the "
                                            f"requested resource ({resource.plural})")

    async def _list_stored(self, resource: Resource, namespace: str | None,
                           flt: ObjectFilter) -> list[Obj]:
        return (await read.list_objects(self.kv, resource, namespace, flt)).items

    def _kubelet_url(self, node: Obj) -> str:
        return kubelet_base_url(*kubelet_address(node), self.kubelet_tls)

    def filter(self, resource: Resource, label_selector: str = "",
               field_selector: str = "") -> ObjectFilter:
        return self.kinds.filter(resource, label_selector, field_selector)

    # --- the verbs, for the HTTP layer and the client protocol below ---------------------

    async def create_object(self, resource: Resource, body: Any, namespace: str | None,
                            opts: RequestOptions | None = None) -> Written:
        """Create from a decoded body the service may keep and mutate."""
        self._refuse_writes(resource)
        opts = opts or RequestOptions()
        strategy = self.strategy(resource)
        obj = typed_object(strategy, body, opts)
        written = await create.create(self.rest, strategy, obj, namespace, opts)
        if resource is CUSTOMRESOURCEDEFINITIONS and not opts.dry_run:
            meta = written.obj["metadata"]
            await self.custom_resources.settle(meta["name"], meta.get("resourceVersion", ""),
                                               CRD_SETTLE_SECONDS)
        return self._written(resource, written, opts)

    async def get_object(self, resource: Resource, name: str, namespace: str | None,
                         resource_version: str = "") -> Obj:
        reads = self._reads(resource)
        if reads is not None:
            return as_object(resource, await reads.read_one(resource, namespace, name))
        return await read.get_object(self.kv, resource, name, namespace, resource_version)

    async def get_json(self, resource: Resource, name: str, namespace: str | None,
                       resource_version: str = "") -> bytes:
        """get_object as the JSON the API answers, spliced from the stored bytes."""
        if self._reads(resource) is not None:
            return dumps(await self.get_object(resource, name, namespace)).encode()
        stored = await read.get_stored(self.kv, resource, name, namespace, resource_version)
        return kv_json(stored)

    async def list_objects(self, resource: Resource, namespace: str | None, flt: ObjectFilter,
                           *, limit: int = 0, continue_token: str = "",
                           resource_version: str = "",
                           resource_version_match: str = "") -> ListResult:
        reads = self._reads(resource)
        if reads is not None:
            return ListResult([], 0, decoded=await reads.read_list(resource, namespace, flt),
                              unversioned=True)
        return await read.list_objects(self.kv, resource, namespace, flt, limit=limit,
                                       continue_token=continue_token,
                                       resource_version=resource_version,
                                       resource_version_match=resource_version_match)

    async def update_object(self, resource: Resource, body: Any, namespace: str | None,
                            subresource: str | None = None, opts: RequestOptions | None = None,
                            *, name: str | None = None) -> Written:
        """PUT from a decoded body the service may keep and mutate."""
        self._refuse_writes(resource)
        opts = opts or RequestOptions()
        strategy = self.strategy(resource)
        if subresource == "scale":
            return Written(await scale.update_scale(self.rest, strategy, body, namespace,
                                                    name or "", opts))
        if subresource is None:
            obj = typed_object(strategy, body, opts)
        else:
            if not isinstance(body, dict):
                raise errors.bad_request("the body of the request must be a JSON object")
            if body.get("metadata") is None:
                body["metadata"] = {}
            if not isinstance(body["metadata"], dict):
                raise errors.bad_request("metadata must be an object")
            type_checked(strategy, body, opts)
            obj = body
        return self._written(resource, await update.update(
            self.rest, strategy, obj, namespace, name or "", subresource, opts), opts)

    async def patch_object(self, resource: Resource, name: str, patch: Any, patch_type: str,
                           namespace: str | None, subresource: str | None = None,
                           opts: RequestOptions | None = None) -> Written:
        self._refuse_writes(resource)
        opts = opts or RequestOptions()
        strategy = self.strategy(resource)
        if subresource == "scale":
            return Written(await scale.patch_scale(self.rest, strategy, name, patch,
                                                   patch_type, namespace, opts))
        return self._written(resource, await update.patch(
            self.rest, strategy, name, patch, patch_type, namespace, subresource, opts), opts)

    async def get_subresource(self, resource: Resource, name: str, subresource: str,
                              namespace: str | None) -> Obj:
        strategy = self.strategy(resource)
        if subresource == "scale":
            return await scale.get_scale(self.rest, strategy, name, namespace)
        if subresource in ("status", "ephemeralcontainers") and (
                subresource in resource.subresources):
            obj = await self.get_object(resource, name, namespace)
            obj["apiVersion"] = resource.api_version  # a custom resource's stored version
            return obj
        raise errors.not_found(f"{resource.plural}/{subresource}", name, resource.group)

    async def post_subresource(self, resource: Resource, name: str, subresource: str,
                               body: Any, namespace: str | None,
                               opts: RequestOptions | None = None) -> Obj:
        """POST to a kind's own subresource (pods/binding, pods/eviction)."""
        strategy = self.strategy(resource)
        handler = strategy.post_subresources.get(subresource)
        if handler is None:
            raise errors.method_not_allowed(
                f"the server does not allow this method on the requested resource "
                f"({resource.plural}/{subresource})")
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        ns = namespace_for(resource, namespace)
        return await handler(self.rest, name, ns, body, opts or RequestOptions())

    async def delete_object(self, resource: Resource, name: str, namespace: str | None, *,
                            grace_period_seconds: int | None = None,
                            propagation_policy: str | None = None,
                            preconditions: dict[str, Any] | None = None,
                            opts: RequestOptions | None = None) -> tuple[Obj, bool]:
        """Returns (the object or a Success Status, whether it is gone now)."""
        self._refuse_writes(resource)
        return await delete.delete(self.rest, self.strategy(resource), name, namespace,
                                   grace_period_seconds=grace_period_seconds,
                                   propagation_policy=propagation_policy,
                                   preconditions=preconditions, opts=opts or RequestOptions())

    async def delete_collection(self, resource: Resource, namespace: str | None,
                                flt: ObjectFilter, *, grace_period_seconds: int | None = None,
                                propagation_policy: str | None = None,
                                opts: RequestOptions | None = None) -> list[Obj]:
        self._refuse_writes(resource)
        return await delete.delete_collection(
            self.rest, self.strategy(resource), namespace, flt,
            grace_period_seconds=grace_period_seconds, propagation_policy=propagation_policy,
            opts=opts or RequestOptions())

    def watch_batches(self, resource: Resource, namespace: str | None, flt: ObjectFilter,
                      resource_version: str = "", *, allow_bookmarks: bool = False,
                      timeout_seconds: float | None = None, initial_events_end: bool = False,
                      ) -> AsyncGenerator[watch.Batch, None]:
        """Batches of (type, event) pairs, each what was ready at once; initial state first
        when resource_version is "" or "0". Objects come as CachedEvents (shared: read them,
        never change them); bookmarks as dicts."""
        if self._reads(resource) is not None:
            raise watch_not_supported(resource.plural)
        return watch.watch_batches(self.fanout, self.kv, self.bookmark_interval, resource,
                                   namespace, flt, resource_version,
                                   allow_bookmarks=allow_bookmarks,
                                   timeout_seconds=timeout_seconds,
                                   initial_events_end=initial_events_end)

    async def watch_events(self, resource: Resource, namespace: str | None, flt: ObjectFilter,
                           resource_version: str = "", *, allow_bookmarks: bool = False,
                           timeout_seconds: float | None = None,
                           initial_events_end: bool = False,
                           ) -> AsyncGenerator[tuple[str, CachedEvent | Obj], None]:
        """watch_batches, one (type, event) pair at a time."""
        batches = self.watch_batches(resource, namespace, flt, resource_version,
                                     allow_bookmarks=allow_bookmarks,
                                     timeout_seconds=timeout_seconds,
                                     initial_events_end=initial_events_end)
        try:
            async for batch in batches:
                for pair in batch:
                    yield pair
        finally:
            await batches.aclose()

    async def read_log(self, namespace: str, pod: str, container: str | None = None, *,
                       follow: bool = False, tail_lines: int | None = None,
                       timestamps: bool = False, since_seconds: int | None = None,
                       limit_bytes: int | None = None,
                       previous: bool = False) -> KubeletLogStream:
        """Open the pod's log stream on its node's kubelet (errors raise here, before any
        byte is streamed); iterate the result for chunks of text, then aclose() it."""
        return await open_kubelet_log(self, namespace, pod, container, follow=follow,
                                      tail_lines=tail_lines, timestamps=timestamps,
                                      since_seconds=since_seconds, limit_bytes=limit_bytes,
                                      previous=previous)
