"""The PodSecurity validating admission plugin (kube's in-tree plugin around
pod-security-admission): reads the namespace's policy from its labels and applies the
verdicts of decisions.py to pods (enforce, audit, warn), workloads' pod templates (audit,
warn) and namespaces (label values; warnings about existing pods when enforce tightens).

There is no audit log: the audit annotations kube would record go on the request's options
(RequestOptions.audit_annotations), and an audit violation is also logged as one line on
the `minikube_py.apiserver.audit` logger (INFO)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Final

from minikube_py.api import errors
from minikube_py.api.errors import ApiError
from minikube_py.api.resources import NAMESPACES, PODS
from minikube_py.apiserver.admissionapi import Attributes, Operation
from minikube_py.apiserver.objectstore import ObjectStore
from minikube_py.apiserver.podsecurity.decisions import (
    Verdict,
    enforce_needs_pod_check,
    evaluate_pod,
    exempt_namespace_warning,
    exemption,
    existing_pod_warnings,
    label_errors_block,
    namespace_labels,
    pod_parts,
    significant_pod_update,
)
from minikube_py.apiserver.podsecurity.policy import (
    AUDIT_VIOLATIONS_ANNOTATION,
    Evaluated,
    PodSecurityConfig,
    policy_for_labels,
)
from minikube_py.apiserver.podsecurity.results import Obj, mapping
from minikube_py.apiserver.storage import decode_kv, list_prefix
from minikube_py.store.types import prefix_end

audit_log = logging.getLogger("minikube_py.apiserver.audit")
# Pod subresources that cannot change what the checks see (kube's ignoredPodSubresources).
IGNORED_POD_SUBRESOURCES: Final = frozenset({
    "exec", "attach", "binding", "eviction", "log", "portforward", "proxy", "status"})
# How long a namespace update may spend checking the pods already in it (kube's).
EXISTING_PODS_CHECK_SECONDS: Final = 1.0


class PodSecurity:
    """Validating admission: runs on creates and updates once the kind has validated the
    object; `clock` (monotonic seconds) bounds the existing-pods check."""

    def __init__(self, objects: ObjectStore, config: PodSecurityConfig, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._objects = objects
        self._config = config
        self._clock = clock
        # namespace -> (revision read, its policy): every pod write reads its namespace,
        # which changes rarely, so its labels are parsed again only when it moved.
        self._policies: dict[str, tuple[int, Evaluated]] = {}

    async def validate(self, attrs: Attributes) -> None:
        if attrs.operation is Operation.DELETE or attrs.obj is None:
            return
        resource = attrs.strategy.resource
        if resource is NAMESPACES:
            await self._validate_namespace(attrs, attrs.obj)
        elif resource is PODS:
            if attrs.subresource not in IGNORED_POD_SUBRESOURCES:
                await self._validate_pod(attrs, attrs.obj)
        elif attrs.subresource is None:
            template = attrs.strategy.pod_template(attrs.obj)
            if template is not None:
                await self._validate_template(attrs, template)

    async def _validate_pod(self, attrs: Attributes, pod: Obj) -> None:
        ns = attrs.namespace or ""
        verdict = exemption(self._config, ns, self._user(attrs))
        if verdict is None:
            meta, spec = pod_parts(pod)
            policy = await self._namespace_policy(ns)
            significant = attrs.old is None or significant_pod_update(
                spec, mapping(attrs.old.get("spec")))
            verdict = evaluate_pod(self._config, policy, meta, spec, enforce=True,
                                   significant=significant)
        self._apply(attrs, verdict)

    async def _validate_template(self, attrs: Attributes, template: Obj) -> None:
        ns = attrs.namespace or ""
        verdict = exemption(self._config, ns, self._user(attrs))
        if verdict is None:
            meta, spec = pod_parts(template)
            verdict = evaluate_pod(self._config, await self._namespace_policy(ns), meta, spec,
                                   enforce=False)
        self._apply(attrs, verdict)

    async def _validate_namespace(self, attrs: Attributes, namespace: Obj) -> None:
        if attrs.subresource is not None:
            return
        name = attrs.name
        labels = namespace_labels(namespace)
        defaults = self._config.defaults
        new = policy_for_labels(labels, defaults)
        old = None if attrs.operation is Operation.CREATE else \
            policy_for_labels(namespace_labels(attrs.old), defaults)
        if label_errors_block(new, old):
            raise errors.invalid("Namespace", name, list(new.errors))
        if old is not None and not enforce_needs_pod_check(old.policy, new.policy):
            return
        if name in self._config.exempt_namespaces:
            self._warn(attrs, exempt_namespace_warning(self._config, name, new.policy, labels))
            return
        if old is None:
            return
        deadline = self._clock() + EXISTING_PODS_CHECK_SECONDS
        for warning in existing_pod_warnings(self._config, name, new.policy.enforce,
                                             await self._pods(name),
                                             out_of_time=lambda: self._clock() > deadline):
            self._warn(attrs, warning)

    async def _namespace_policy(self, name: str) -> Evaluated:
        """The namespace's policy; the defaults for a namespace that is not there (its
        pods are refused by NamespaceLifecycle on create; kube answers 500 here)."""
        found = await self._objects.read(NAMESPACES, None, name)
        if found is None:
            self._policies.pop(name, None)
            return Evaluated(self._config.defaults)
        cached = self._policies.get(name)
        if cached is not None and cached[0] == found.mod_revision:
            return cached[1]
        evaluated = policy_for_labels(namespace_labels(decode_kv(found)),
                                      self._config.defaults)
        self._policies[name] = (found.mod_revision, evaluated)
        return evaluated

    async def _pods(self, namespace: str) -> list[Obj]:
        prefix = list_prefix(PODS, namespace)
        found = await self._objects.kv.range(prefix, prefix_end(prefix))
        return [decode_kv(kv) for kv in found.kvs]

    @staticmethod
    def _user(attrs: Attributes) -> str:
        return attrs.opts.user.name if attrs.opts.user is not None else ""

    @staticmethod
    def _warn(attrs: Attributes, warning: str) -> None:
        # A write retried after a conflict is admitted again: say each thing once.
        if warning and warning not in attrs.opts.warnings:
            attrs.opts.warnings.append(warning)

    def _apply(self, attrs: Attributes, verdict: Verdict) -> None:
        attrs.opts.audit_annotations.update(verdict.audit)
        violations = verdict.audit.get(AUDIT_VIOLATIONS_ANNOTATION)
        if violations:
            resource = attrs.strategy.resource
            audit_log.info("%s %s %s/%s by %s: %s=%s", attrs.operation.lower(),
                           errors.qualified(resource.plural, resource.group), attrs.namespace,
                           attrs.name, self._user(attrs) or "system:apiserver",
                           AUDIT_VIOLATIONS_ANNOTATION, violations)
        for warning in verdict.warnings:
            self._warn(attrs, warning)
        if verdict.forbidden:
            resource = attrs.strategy.resource
            raise ApiError(403, "Forbidden",
                           f'{errors.qualified(resource.plural, resource.group)} '
                           f'"{attrs.name}" is forbidden: {verdict.forbidden}',
                           {"name": attrs.name, "kind": resource.plural})
