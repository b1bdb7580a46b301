"""Pure rollout decisions of the Deployment loop (kube's pkg/controller/deployment/util):
template hashes and revisions, how far each ReplicaSet may be scaled in a rolling step,
proportional scaling, history cleanup, and the status and conditions to report."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from minikube_py.api.owners import new_controller_ref
from minikube_py.api.podutil import parse_time

Obj = dict[str, Any]

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
HASH_LABEL = "pod-template-hash"
MAX_REVISION_HISTORY_CHARS = 2000
# Deployment annotations that are not copied onto its ReplicaSets.
_NOT_COPIED = frozenset({
    "kubectl.kubernetes.io/last-applied-configuration", REVISION, REVISION_HISTORY,
    DESIRED_REPLICAS, MAX_REPLICAS, "deprecated.deployment.rollback.to",
})
_MAX_INT32 = 2**31 - 1

AVAILABLE = "Available"
PROGRESSING = "Progressing"
REPLICA_FAILURE = "ReplicaFailure"
TIMED_OUT = "ProgressDeadlineExceeded"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"


# --- spec accessors with the API's defaults (defensive: the server defaults them too) ---


def _spec(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return (obj or {}).get("spec") or {}


def status_of(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return (obj or {}).get("status") or {}


def replicas(obj: Mapping[str, Any] | None) -> int:
    """spec.replicas of a Deployment or ReplicaSet (1 when unset, like the defaulting)."""
    value = _spec(obj).get("replicas")
    return 1 if value is None else int(value)


def available(rs: Mapping[str, Any] | None) -> int:
    return int(status_of(rs).get("availableReplicas") or 0)


def _strategy(d: Mapping[str, Any]) -> Mapping[str, Any]:
    return _spec(d).get("strategy") or {"type": "RollingUpdate"}


def is_rolling(d: Mapping[str, Any]) -> bool:
    return (_strategy(d).get("type") or "RollingUpdate") == "RollingUpdate"


def is_recreate(d: Mapping[str, Any]) -> bool:
    return _strategy(d).get("type") == "Recreate"


def scaled_value(value: int | str, total: int, *, round_up: bool) -> int:
    """An IntOrString as a count: "25%" of `total`, rounded up or down."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text.endswith("%"):
        return int(text)
    percent = int(text[:-1])
    exact = percent * total
    return -(-exact // 100) if round_up else exact // 100


def resolve_fenceposts(max_surge: int | str, max_unavailable: int | str,
                       desired: int) -> tuple[int, int]:
    """(surge, unavailable): surge rounds up, unavailable down; both zero means one may be
    unavailable, or no rollout could ever make progress."""
    surge = scaled_value(max_surge, desired, round_up=True)
    unavailable = scaled_value(max_unavailable, desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _fenceposts(d: Mapping[str, Any]) -> tuple[int, int]:
    ru = _strategy(d).get("rollingUpdate") or {}
    return resolve_fenceposts(ru.get("maxSurge", "25%"), ru.get("maxUnavailable", "25%"),
                              replicas(d))


def max_surge(d: Mapping[str, Any]) -> int:
    return _fenceposts(d)[0] if is_rolling(d) else 0


def max_unavailable(d: Mapping[str, Any]) -> int:
    if not is_rolling(d) or replicas(d) == 0:
        return 0
    return min(_fenceposts(d)[1], replicas(d))


def progress_deadline(d: Mapping[str, Any]) -> int | None:
    value = _spec(d).get("progressDeadlineSeconds", 600)
    return None if value is None or int(value) == _MAX_INT32 else int(value)


def revision_history_limit(d: Mapping[str, Any]) -> int | None:
    value = _spec(d).get("revisionHistoryLimit", 10)
    return None if value is None or int(value) == _MAX_INT32 else int(value)


# --- template hash and identity ---------------------------------------------------------

_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # no vowels: no words in generated names


def _fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def pod_template_hash(template: Mapping[str, Any], collision_count: int | None = None) -> str:
    """A stable name-safe hash of the pod template, salted with status.collisionCount (kube's
    ComputeHash over canonical JSON instead of Go's struct dump)."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    if collision_count is not None:
        data += int(collision_count).to_bytes(4, "little")
    return "".join(_SAFE_ALPHABET[ord(ch) % len(_SAFE_ALPHABET)] for ch in str(_fnv32a(data)))


def _without_hash(template: Mapping[str, Any] | None) -> Obj:
    t = copy.deepcopy(dict(template or {}))
    meta = t.setdefault("metadata", {})
    labels = dict(meta.get("labels") or {})
    labels.pop(HASH_LABEL, None)
    if labels:
        meta["labels"] = labels
    else:
        meta.pop("labels", None)
    return t


def equal_ignore_hash(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    return _without_hash(a) == _without_hash(b)


def _created(obj: Mapping[str, Any]) -> tuple[float, str]:
    meta = obj.get("metadata") or {}
    return parse_time(meta.get("creationTimestamp")) or 0.0, str(meta.get("name", ""))


def by_creation(rss: Iterable[Obj]) -> list[Obj]:
    return sorted(rss, key=_created)


def find_new_rs(d: Mapping[str, Any], rss: Iterable[Obj]) -> Obj | None:
    """The oldest ReplicaSet whose template is the Deployment's (ignoring the hash label)."""
    template = _spec(d).get("template")
    return next((rs for rs in by_creation(rss) if equal_ignore_hash(
        _spec(rs).get("template"), template)), None)


def revision(rs: Mapping[str, Any]) -> int:
    raw = ((rs.get("metadata") or {}).get("annotations") or {}).get(REVISION)
    try:
        return int(raw) if raw else 0
    except ValueError:
        return 0


def max_revision(rss: Iterable[Obj]) -> int:
    return max((revision(rs) for rs in rss), default=0)


# --- ReplicaSet annotations -------------------------------------------------------------


def _history_with(history: str, old_revision: str, limit: int) -> str | None:
    if not history:
        return old_revision
    parts = history.split(",")
    total = len(history) + len(old_revision) + 1
    start = 0
    while total > limit and start < len(parts):
        total -= len(parts[start]) + 1
        start += 1
    if total > limit:
        return None
    return ",".join([*parts[start:], old_revision])


def replicas_annotations(d: Mapping[str, Any]) -> dict[str, str]:
    return {DESIRED_REPLICAS: str(replicas(d)), MAX_REPLICAS: str(replicas(d) + max_surge(d))}


def new_rs_annotations(d: Mapping[str, Any], current: Mapping[str, str], new_revision: int, *,
                       exists: bool,
                       history_limit: int = MAX_REVISION_HISTORY_CHARS) -> dict[str, str]:
    """The annotations of the new ReplicaSet (SetNewReplicaSetAnnotations): the Deployment's
    own annotations, the revision (an old set that becomes current again gets the next
    revision and remembers its old ones), and the replica counts for a set being created."""
    ann = dict(current)
    for k, v in ((d.get("metadata") or {}).get("annotations") or {}).items():
        if k not in _NOT_COPIED:
            ann[k] = v
    old_raw = ann.get(REVISION)
    try:
        old = int(old_raw) if old_raw else 0
    except ValueError:
        return ann
    if old < new_revision:
        ann[REVISION] = str(new_revision)
        if old_raw:
            history = _history_with(ann.get(REVISION_HISTORY, ""), old_raw, history_limit)
            if history is not None:
                ann[REVISION_HISTORY] = history
    if not exists:
        ann.update(replicas_annotations(d))
    return ann


def desired_replicas_annotation(rs: Mapping[str, Any]) -> int | None:
    raw = ((rs.get("metadata") or {}).get("annotations") or {}).get(DESIRED_REPLICAS)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _max_replicas_annotation(rs: Mapping[str, Any]) -> int | None:
    raw = ((rs.get("metadata") or {}).get("annotations") or {}).get(MAX_REPLICAS)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def new_replicaset(d: Obj, template_hash: str, count: int,
                   annotations: Mapping[str, str]) -> Obj:
    """The ReplicaSet for the Deployment's current template: named `<deploy>-<hash>`, the
    hash label added to its template labels and its selector."""
    template = copy.deepcopy(_spec(d).get("template") or {})
    tmeta = template.setdefault("metadata", {})
    tmeta["labels"] = {**(tmeta.get("labels") or {}), HASH_LABEL: template_hash}
    selector = copy.deepcopy(_spec(d).get("selector") or {})
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), HASH_LABEL: template_hash}
    meta = d["metadata"]
    return {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": f"{meta['name']}-{template_hash}",
                     "namespace": meta.get("namespace"),
                     "labels": dict(tmeta["labels"]), "annotations": dict(annotations),
                     "ownerReferences": [new_controller_ref(d)]},
        "spec": {"replicas": count, "minReadySeconds": int(_spec(d).get("minReadySeconds") or 0),
                 "selector": selector, "template": template},
    }


# --- rolling update step ----------------------------------------------------------------


def total_replicas(rss: Iterable[Obj | None]) -> int:
    return sum(replicas(rs) for rs in rss if rs is not None)


def _capped_available(rs: Mapping[str, Any] | None) -> int:
    """Available pods of a set, never more than it is asked to keep: a set just scaled down
    may still report the pods it is deleting (its status lags its spec)."""
    return min(available(rs), replicas(rs)) if rs is not None else 0


def new_rs_replicas(d: Mapping[str, Any], all_rss: Iterable[Obj | None], new_rs: Obj) -> int:
    """How many replicas the new set may have now (NewRSNewReplicas)."""
    if not is_rolling(d):
        return replicas(d)
    current = total_replicas(all_rss)
    max_total = replicas(d) + max_surge(d)
    if current >= max_total:
        return replicas(new_rs)
    up = min(max_total - current, replicas(d) - replicas(new_rs))
    return replicas(new_rs) + up


def rolling_new_rs_target(d: Mapping[str, Any], all_rss: Iterable[Obj | None],
                          new_rs: Obj) -> int | None:
    """The new set's next size in a rolling update, or None when it stays."""
    if replicas(new_rs) == replicas(d):
        return None
    if replicas(new_rs) > replicas(d):
        return replicas(d)
    target = new_rs_replicas(d, all_rss, new_rs)
    return None if target == replicas(new_rs) else target


def rolling_old_rs_targets(d: Mapping[str, Any], new_rs: Obj | None,
                           old_rss: list[Obj]) -> dict[str, int]:
    """New sizes for old sets in a rolling step (reconcileOldReplicaSets): first shed old
    pods that are not available (they do not count anyway), then available ones while the
    total available stays at or above replicas - maxUnavailable."""
    sizes = {rs["metadata"]["name"]: replicas(rs) for rs in old_rss}
    old_count = sum(sizes.values())
    if old_count == 0:
        return {}
    all_count = old_count + (replicas(new_rs) if new_rs is not None else 0)
    min_available = replicas(d) - max_unavailable(d)
    new_unavailable = (replicas(new_rs) - _capped_available(new_rs)) if new_rs is not None else 0
    max_down = all_count - min_available - new_unavailable
    if max_down <= 0:
        return {}
    targets: dict[str, int] = {}
    ordered = by_creation(old_rss)
    shed = 0
    for rs in ordered:
        if shed >= max_down:
            break
        name, size = rs["metadata"]["name"], sizes[rs["metadata"]["name"]]
        unhealthy = size - _capped_available(rs)
        if size == 0 or unhealthy == 0:
            continue
        down = min(max_down - shed, unhealthy)
        sizes[name] = targets[name] = size - down
        shed += down
    available_now = _capped_available(new_rs) + sum(
        min(_capped_available(rs), sizes[rs["metadata"]["name"]]) for rs in old_rss)
    budget = available_now - min_available
    for rs in ordered:
        if budget <= 0:
            break
        name, size = rs["metadata"]["name"], sizes[rs["metadata"]["name"]]
        if size == 0:
            continue
        down = min(size, budget)
        sizes[name] = targets[name] = size - down
        budget -= down
    return targets


# --- scaling outside a rollout (replicas changed, or paused) ----------------------------


def active(rss: Iterable[Obj | None]) -> list[Obj]:
    return [rs for rs in rss if rs is not None and replicas(rs) > 0]


def is_scaling_event(d: Mapping[str, Any], rss: Iterable[Obj | None]) -> bool:
    """spec.replicas differs from what an active set was last sized for."""
    for rs in active(rss):
        desired = desired_replicas_annotation(rs)
        if desired is not None and desired != replicas(d):
            return True
    return False


def find_active_or_latest(new_rs: Obj | None, old_rss: list[Obj]) -> Obj | None:
    if new_rs is None and not old_rss:
        return None
    newest_first = list(reversed(by_creation(old_rss)))
    live = active([*newest_first, new_rs])
    if not live:
        return new_rs if new_rs is not None else newest_first[0]
    return live[0] if len(live) == 1 else None


def is_saturated(d: Mapping[str, Any], rs: Obj | None) -> bool:
    if rs is None:
        return False
    return (replicas(rs) == replicas(d) and desired_replicas_annotation(rs) == replicas(d)
            and available(rs) == replicas(d))


def _round_half_away(x: float) -> int:
    return math.floor(abs(x) + 0.5) * (1 if x >= 0 else -1)


def _fraction(d: Mapping[str, Any], rs: Obj) -> int:
    if replicas(d) == 0:
        return -replicas(rs)
    deployment_replicas = replicas(d) + max_surge(d)
    annotated = _max_replicas_annotation(rs)
    if annotated is None:
        annotated = int(status_of(d).get("replicas") or 0)
    if annotated == 0:
        return 0
    return _round_half_away(replicas(rs) * deployment_replicas / annotated) - replicas(rs)


def scale_targets(d: Mapping[str, Any], new_rs: Obj | None,
                  old_rss: list[Obj]) -> tuple[dict[str, int], str | None]:
    """New sizes when spec.replicas changes (the controller's `scale`), and the direction
    for events when sizes are spread proportionally ("up"/"down"), else None."""
    target = find_active_or_latest(new_rs, old_rss)
    if target is not None:
        if replicas(target) == replicas(d):
            return {}, None
        return {target["metadata"]["name"]: replicas(d)}, None
    if is_saturated(d, new_rs):
        return {rs["metadata"]["name"]: 0 for rs in active(old_rss)}, None
    if not is_rolling(d):
        return {}, None
    live = active([*old_rss, new_rs])
    allowed = replicas(d) + max_surge(d) if replicas(d) > 0 else 0
    to_add = allowed - total_replicas(live)
    if to_add == 0:
        return {}, None
    newer_first = to_add > 0
    # largest first; among equals, newer sets grow first and older ones shrink first
    live.sort(key=lambda rs: _created(rs)[0], reverse=newer_first)
    live.sort(key=replicas, reverse=True)
    sizes: dict[str, int] = {}
    added = 0
    for rs in live:
        proportion = 0
        if replicas(rs) != 0 and to_add != added:
            allowed_left = to_add - added
            frac = _fraction(d, rs)
            proportion = min(frac, allowed_left) if to_add > 0 else max(frac, allowed_left)
        sizes[rs["metadata"]["name"]] = replicas(rs) + proportion
        added += proportion
    first = live[0]["metadata"]["name"]
    sizes[first] = max(0, sizes[first] + to_add - added)
    return sizes, ("up" if to_add > 0 else "down")


# --- Recreate and cleanup ---------------------------------------------------------------


def old_pods_running(new_rs: Obj | None, old_rss: list[Obj], pods: Iterable[Obj]) -> bool:
    """Whether any pod of an old set still exists and has not finished (Recreate waits)."""
    if sum(int(status_of(rs).get("replicas") or 0) for rs in old_rss) > 0:
        return True
    old_uids = {rs["metadata"].get("uid") for rs in old_rss}
    new_uid = (new_rs or {}).get("metadata", {}).get("uid")
    for pod in pods:
        owners = {r.get("uid") for r in (pod.get("metadata") or {}).get("ownerReferences") or []
                  if r.get("controller")}
        if new_uid in owners or not owners & old_uids:
            continue
        if status_of(pod).get("phase") not in ("Succeeded", "Failed"):
            return True
    return False


def history_to_delete(d: Mapping[str, Any], old_rss: list[Obj]) -> list[Obj]:
    """Old sets beyond revisionHistoryLimit, oldest revision first, that are fully scaled
    down and settled."""
    limit = revision_history_limit(d)
    if limit is None:
        return []
    alive = [rs for rs in old_rss if not (rs.get("metadata") or {}).get("deletionTimestamp")]
    excess = len(alive) - limit
    if excess <= 0:
        return []
    alive.sort(key=lambda rs: (revision(rs), *_created(rs)))
    doomed = []
    for rs in alive[:excess]:
        meta, status = rs.get("metadata") or {}, status_of(rs)
        if int(status.get("replicas") or 0) != 0 or replicas(rs) != 0:
            continue
        if int(meta.get("generation") or 0) > int(status.get("observedGeneration") or 0):
            continue
        doomed.append(rs)
    return doomed


# --- status and conditions --------------------------------------------------------------


def find_condition(status: Mapping[str, Any], kind: str) -> Obj | None:
    return next((dict(c) for c in status.get("conditions") or [] if c.get("type") == kind),
                None)


def new_condition(kind: str, status: str, reason: str, message: str, now: str) -> Obj:
    return {"type": kind, "status": status, "lastUpdateTime": now, "lastTransitionTime": now,
            "reason": reason, "message": message}


def set_condition(status: Obj, cond: Obj) -> None:
    """Replace the condition of cond's type unless status and reason are unchanged; keep
    lastTransitionTime when only the reason changes."""
    current = find_condition(status, cond["type"])
    if current is not None and current.get("status") == cond["status"] and \
            current.get("reason") == cond["reason"]:
        return
    if current is not None and current.get("status") == cond["status"]:
        cond = {**cond, "lastTransitionTime": current.get("lastTransitionTime")}
    status["conditions"] = [*(c for c in status.get("conditions") or []
                              if c.get("type") != cond["type"]), cond]


def remove_condition(status: Obj, kind: str) -> None:
    kept = [c for c in status.get("conditions") or [] if c.get("type") != kind]
    status["conditions"] = kept


def calculate_status(d: Mapping[str, Any], all_rss: Iterable[Obj | None], new_rs: Obj | None,
                     now: str) -> Obj:
    rss = [rs for rs in all_rss if rs is not None]
    avail = sum(available(rs) for rs in rss)
    total = total_replicas(rss)
    status: Obj = {
        "observedGeneration": int((d.get("metadata") or {}).get("generation") or 0),
        "replicas": sum(int(status_of(rs).get("replicas") or 0) for rs in rss),
        "updatedReplicas": int(status_of(new_rs).get("replicas") or 0),
        "readyReplicas": sum(int(status_of(rs).get("readyReplicas") or 0) for rs in rss),
        "availableReplicas": avail,
        "unavailableReplicas": max(total - avail, 0),
        "conditions": [dict(c) for c in status_of(d).get("conditions") or []],
    }
    if status_of(d).get("collisionCount") is not None:
        status["collisionCount"] = status_of(d)["collisionCount"]
    if avail >= replicas(d) - max_unavailable(d):
        set_condition(status, new_condition(AVAILABLE, "True", "MinimumReplicasAvailable",
                                            "Deployment has minimum availability.", now))
    else:
        set_condition(status, new_condition(AVAILABLE, "False", "MinimumReplicasUnavailable",
                                            "Deployment does not have minimum availability.",
                                            now))
    return status


def deployment_complete(d: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    want = replicas(d)
    return (int(status.get("updatedReplicas") or 0) == want
            and int(status.get("replicas") or 0) == want
            and int(status.get("availableReplicas") or 0) == want
            and int(status.get("observedGeneration") or 0)
            >= int((d.get("metadata") or {}).get("generation") or 0))


def deployment_progressing(d: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    old = status_of(d)

    def n(s: Mapping[str, Any], k: str) -> int:
        return int(s.get(k) or 0)

    return (n(status, "updatedReplicas") > n(old, "updatedReplicas")
            or n(status, "replicas") - n(status, "updatedReplicas")
            < n(old, "replicas") - n(old, "updatedReplicas")
            or n(status, "readyReplicas") > n(old, "readyReplicas")
            or n(status, "availableReplicas") > n(old, "availableReplicas"))


def deployment_timed_out(d: Mapping[str, Any], status: Mapping[str, Any], now: float) -> bool:
    deadline = progress_deadline(d)
    cond = find_condition(status, PROGRESSING)
    if deadline is None or cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    since = parse_time(cond.get("lastUpdateTime"))
    return since is not None and since + deadline < now


def _rs_failure(all_rss: Iterable[Obj | None], new_rs: Obj | None) -> Obj | None:
    ordered = [new_rs, *(rs for rs in all_rss if rs is not new_rs)]
    for rs in ordered:
        if rs is None:
            continue
        cond = find_condition(status_of(rs), REPLICA_FAILURE)
        if cond is not None:
            when = cond.get("lastTransitionTime")
            return {"type": REPLICA_FAILURE, "status": cond.get("status"),
                    "lastUpdateTime": when, "lastTransitionTime": when,
                    "reason": cond.get("reason"), "message": cond.get("message")}
    return None


def rollout_status(d: Mapping[str, Any], all_rss: Sequence[Obj | None], new_rs: Obj | None, *,
                   now: float, stamp: str) -> Obj:
    """The status after a rollout step (syncRolloutStatus): counts, Available, and
    Progressing as the rollout completes, moves, or overruns progressDeadlineSeconds."""
    status = calculate_status(d, all_rss, new_rs, stamp)
    name = d["metadata"]["name"]
    what = f'ReplicaSet "{new_rs["metadata"]["name"]}"' if new_rs else f'Deployment "{name}"'
    if progress_deadline(d) is None:
        remove_condition(status, PROGRESSING)
    current = find_condition(status_of(d), PROGRESSING)
    settled = (status["replicas"] == status["updatedReplicas"] and current is not None
               and current.get("reason") == NEW_RS_AVAILABLE)
    if progress_deadline(d) is not None and not settled:
        if deployment_complete(d, status):
            set_condition(status, new_condition(PROGRESSING, "True", NEW_RS_AVAILABLE,
                                                f"{what} has successfully progressed.", stamp))
        elif deployment_progressing(d, status):
            cond = new_condition(PROGRESSING, "True", "ReplicaSetUpdated",
                                 f"{what} is progressing.", stamp)
            if current is not None:
                if current.get("status") == "True":
                    cond["lastTransitionTime"] = current.get("lastTransitionTime")
                remove_condition(status, PROGRESSING)
            set_condition(status, cond)
        elif deployment_timed_out(d, status, now):
            set_condition(status, new_condition(PROGRESSING, "False", TIMED_OUT,
                                                f"{what} has timed out progressing.", stamp))
    failure = _rs_failure(all_rss, new_rs)
    if failure is not None:
        set_condition(status, failure)
    else:
        remove_condition(status, REPLICA_FAILURE)
    return status


def stuck_requeue_after(d: Mapping[str, Any], status: Mapping[str, Any],
                        now: float) -> float | None:
    """When to look again so that a stalled rollout is marked as timed out."""
    deadline = progress_deadline(d)
    cond = find_condition(status, PROGRESSING)
    if deadline is None or cond is None:
        return None
    if deployment_complete(d, status) or cond.get("reason") == TIMED_OUT:
        return None
    since = parse_time(cond.get("lastUpdateTime"))
    if since is None:
        return None
    # never zero: a requeue must not spin while the deadline is not yet passed
    return max(since + deadline - now, 0.0) + 0.1


def paused_condition(d: Mapping[str, Any], stamp: str) -> Obj | None:
    """The Progressing condition to set when the Deployment was paused or resumed."""
    if progress_deadline(d) is None:
        return None
    current = find_condition(status_of(d), PROGRESSING)
    paused_shown = current is not None and current.get("reason") == PAUSED
    if _spec(d).get("paused") and not paused_shown:
        return new_condition(PROGRESSING, "Unknown", PAUSED, "Deployment is paused", stamp)
    if not _spec(d).get("paused") and paused_shown:
        return new_condition(PROGRESSING, "Unknown", RESUMED, "Deployment is resumed", stamp)
    return None
