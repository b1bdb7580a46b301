"""What Pod Security admission decides, as data (kube's admission.go without its API
connections): a pod's or pod template's verdict under a namespace's policy, whether a pod
update needs one, and the warnings a stricter enforce level on a namespace raises about
the pods already in it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from minikube_py.apiserver.podsecurity.checks import evaluate
from minikube_py.apiserver.podsecurity.policy import (
    AUDIT_LEVEL_LABEL,
    AUDIT_VERSION_LABEL,
    AUDIT_VIOLATIONS_ANNOTATION,
    ENFORCE_LEVEL_LABEL,
    ENFORCE_POLICY_ANNOTATION,
    ENFORCE_VERSION_LABEL,
    ERROR_ANNOTATION,
    EXEMPT_ANNOTATION,
    PRIVILEGED_LATEST,
    WARN_LEVEL_LABEL,
    WARN_VERSION_LABEL,
    Evaluated,
    Level,
    LevelVersion,
    PodSecurityConfig,
    Policy,
)
from minikube_py.apiserver.podsecurity.results import Aggregate, Obj, items, mapping, text

# kube checks at most this many existing pods when a namespace's enforce level changes.
MAX_PODS_TO_CHECK: Final = 3000


@dataclass(frozen=True, slots=True)
class Verdict:
    """forbidden: kube's refusal ("violates PodSecurity ..."), empty when allowed; warnings
    for the client; audit: the audit annotations kube records for the request."""

    forbidden: str = ""
    warnings: tuple[str, ...] = ()
    audit: Mapping[str, str] = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        return not self.forbidden


ALLOW: Final = Verdict()
# The verdict of most pods, shared (kube's sharedAllowedPrivilegedResponse).
PRIVILEGED_NAMESPACE: Final = Verdict(audit={ENFORCE_POLICY_ANNOTATION: str(PRIVILEGED_LATEST)})


def exemption(config: PodSecurityConfig, namespace: str, user: str) -> Verdict | None:
    """The verdict for a request the configuration exempts (by namespace, then user)."""
    if namespace and namespace in config.exempt_namespaces:
        return Verdict(audit={EXEMPT_ANNOTATION: "namespace"})
    if user and user in config.exempt_users:
        return Verdict(audit={EXEMPT_ANNOTATION: "user"})
    return None


def evaluate_pod(config: PodSecurityConfig, ns: Evaluated, meta: Obj, spec: Obj, *,
                 enforce: bool, significant: bool = True) -> Verdict:
    """A pod (enforce=True: refused if the enforce level forbids it) or a workload's pod
    template (enforce=False: only audited and warned about) under its namespace's policy.
    An update that is not `significant` (significant_pod_update) is allowed unchecked."""
    policy = ns.policy
    if enforce and not ns.errors and policy.fully_privileged:
        return PRIVILEGED_NAMESPACE
    if not enforce and not ns.errors and policy.warn.level is Level.PRIVILEGED and \
            policy.audit.level is Level.PRIVILEGED:
        return ALLOW
    if not significant:
        return ALLOW
    runtime_class = text(spec.get("runtimeClassName"))
    if runtime_class and runtime_class in config.exempt_runtime_classes:
        return Verdict(audit={EXEMPT_ANNOTATION: "runtimeClass"})
    audit: dict[str, str] = {}
    if ns.errors:
        audit[ERROR_ANNOTATION] = f"Failed to parse policy: {ns.error_text()}"
    results: dict[LevelVersion, Aggregate] = {}

    def result(lv: LevelVersion) -> Aggregate:
        if lv not in results:
            results[lv] = evaluate(lv, meta, spec)
        return results[lv]

    forbidden = ""
    if enforce:
        audit[ENFORCE_POLICY_ANNOTATION] = str(policy.enforce)
        enforced = result(policy.enforce)
        if not enforced.allowed:
            forbidden = f'violates PodSecurity "{policy.enforce}": {enforced.details}'
    audited = result(policy.audit)
    if not audited.allowed:
        audit[AUDIT_VIOLATIONS_ANNOTATION] = \
            f'would violate PodSecurity "{policy.audit}": {audited.details}'
    warnings: tuple[str, ...] = ()
    if not forbidden:  # a refused request gets its error, not warnings as well
        warned = result(policy.warn)
        if not warned.allowed:
            warnings = (f'would violate PodSecurity "{policy.warn}": {warned.details}',)
    return Verdict(forbidden, warnings, audit)


def significant_pod_update(new_spec: Obj, old_spec: Obj) -> bool:
    """Whether a pod update can change what the checks see: of a pod's spec only images
    may change (and ephemeral containers be added), so only those are looked at."""
    for key in ("containers", "initContainers"):
        new, old = items(new_spec.get(key)), items(old_spec.get(key))
        if len(new) != len(old) or any(n.get("image") != o.get("image")
                                       for n, o in zip(new, old, strict=True)):
            return True
    old_ephemeral = {text(c.get("name")): c for c in items(old_spec.get("ephemeralContainers"))}
    for c in items(new_spec.get("ephemeralContainers")):
        before = old_ephemeral.get(text(c.get("name")))
        if before is None or before.get("image") != c.get("image"):
            return True
    return False


def enforce_needs_pod_check(old: Policy, new: Policy) -> bool:
    """Whether a namespace's new enforce level calls for checking its pods: it changed, is
    not privileged, and is not the same version at a level no stricter."""
    if new.enforce == old.enforce or new.enforce.level is Level.PRIVILEGED:
        return False
    return not (new.enforce.version == old.enforce.version and
                new.enforce.level.strictness <= old.enforce.level.strictness)


def exempt_namespace_warning(config: PodSecurityConfig, name: str, policy: Policy,
                             labels: Mapping[str, str]) -> str:
    """For an exempt namespace labelled with a policy that is not the default: a warning
    that its labels are ignored (empty otherwise)."""
    if policy.fully_privileged or policy.equivalent(config.defaults):
        return ""
    modes = []
    for mode, lv, level_label, version_label in (
            ("enforce", policy.enforce, ENFORCE_LEVEL_LABEL, ENFORCE_VERSION_LABEL),
            ("audit", policy.audit, AUDIT_LEVEL_LABEL, AUDIT_VERSION_LABEL),
            ("warn", policy.warn, WARN_LEVEL_LABEL, WARN_VERSION_LABEL)):
        if lv.level is not Level.PRIVILEGED and (level_label in labels or
                                                 version_label in labels):
            modes.append(f"{mode}={lv}")
    return (f'namespace "{name}" is exempt from Pod Security, and the policy '
            f"({', '.join(modes)}) will be ignored")


def _controller_uid(pod: Obj) -> str | None:
    for ref in items(mapping(pod.get("metadata")).get("ownerReferences")):
        if ref.get("controller") is True:
            return text(ref.get("uid"))
    return None


def prioritized(config: PodSecurityConfig, pods: Iterable[Obj]) -> list[Obj]:
    """The pods worth checking first: one per controller before the rest of its replicas;
    pods of an exempt runtime class not at all."""
    first: list[Obj] = []
    replicas: list[Obj] = []
    seen: set[str] = set()
    for pod in pods:
        runtime_class = text(mapping(pod.get("spec")).get("runtimeClassName"))
        if runtime_class and runtime_class in config.exempt_runtime_classes:
            continue
        uid = _controller_uid(pod)
        if uid is not None and uid in seen:
            replicas.append(pod)
            continue
        if uid is not None:
            seen.add(uid)
        first.append(pod)
    return first + replicas


def existing_pod_warnings(config: PodSecurityConfig, namespace: str, enforce: LevelVersion,
                          pods: Iterable[Obj], *, out_of_time: Callable[[], bool],
                          max_pods: int = MAX_PODS_TO_CHECK) -> list[str]:
    """kube's warnings for a namespace whose enforce level became stricter: which pods
    already violate it, grouped by what they violate, one pod named per group; checking
    stops after `max_pods` or when `out_of_time()` says so, and says so."""
    ordered = prioritized(config, pods)
    total = len(ordered)
    checked = min(total, max_pods)
    groups: dict[str, tuple[str, int]] = {}  # reasons -> (first pod name, how many pods)
    for i, pod in enumerate(ordered[:max_pods]):
        meta = mapping(pod.get("metadata"))
        result = evaluate(enforce, meta, mapping(pod.get("spec")))
        if not result.allowed:
            name = text(meta.get("name"))
            first, count = groups.get(result.reasons, (name, 0))
            groups[result.reasons] = (min(first, name), count + 1)
        if out_of_time():
            checked = i + 1
            break
    warnings = []
    if checked < total:
        warnings.append(f"new PodSecurity enforce level only checked against the first "
                        f"{checked} of {total} existing pods")
    if groups:
        warnings.append(f'existing pods in namespace "{namespace}" violate the new '
                        f'PodSecurity enforce level "{enforce}"')
    return warnings + sorted(_named(reasons, *group) for reasons, group in groups.items())


def _named(reasons: str, pod: str, count: int) -> str:
    if count == 1:
        return f"{pod}: {reasons}"
    others = "1 other pod" if count == 2 else f"{count - 1} other pods"
    return f"{pod} (and {others}): {reasons}"


def label_errors_block(new: Evaluated, old: Evaluated | None) -> bool:
    """Whether a namespace's unreadable labels refuse its write: always on create, and on
    update unless they are the very errors it already had."""
    if not new.errors:
        return False
    return old is None or not old.errors or new.errors != old.errors


def namespace_labels(obj: Obj | None) -> dict[str, str]:
    labels = mapping(mapping((obj or {}).get("metadata")).get("labels"))
    return {str(k): str(v) for k, v in labels.items() if isinstance(v, str)}


def pod_parts(obj: Any) -> tuple[Obj, Obj]:
    """(metadata, spec) of a pod or pod template."""
    return mapping(mapping(obj).get("metadata")), mapping(mapping(obj).get("spec"))
