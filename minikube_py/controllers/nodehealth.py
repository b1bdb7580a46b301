"""Node health decisions, pure: when a node is stale, the conditions of a node whose kubelet
went silent, and the taints a node's Ready condition calls for."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]

NOT_READY_TAINT_KEY = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT_KEY = "node.kubernetes.io/unreachable"
CONDITION_TAINT_KEYS = frozenset({NOT_READY_TAINT_KEY, UNREACHABLE_TAINT_KEY})
# Both effects, as kube does: NoSchedule keeps new pods off (default tolerations cover
# NoExecute for 300 s, so NoExecute alone would still let the scheduler pick the node).
CONDITION_TAINT_EFFECTS = ("NoSchedule", "NoExecute")

STATUS_UNKNOWN_REASON = "NodeStatusUnknown"
STATUS_UNKNOWN_MESSAGE = "Kubelet stopped posting node status."
NEVER_UPDATED_REASON = "NodeStatusNeverUpdated"
NEVER_UPDATED_MESSAGE = "Kubelet never posted node status."


@dataclass(frozen=True, slots=True)
class Probe:
    """The last time (controller clock) something new was heard from a node's kubelet.
    Using our own clock, not the kubelet's timestamps, makes skewed clocks harmless."""

    signature: tuple[str, ...]
    observed_at: float


def heartbeat_signature(node: Obj, lease: Obj | None) -> tuple[str, ...]:
    """What changes whenever the kubelet reports: lease renewTime and Ready heartbeat."""
    renew = str(((lease or {}).get("spec") or {}).get("renewTime") or "")
    ready = ready_condition(node) or {}
    return renew, str(ready.get("lastHeartbeatTime") or ""), str(ready.get("status") or "")


def observe(previous: Probe | None, signature: tuple[str, ...], now: float) -> Probe:
    if previous is None or previous.signature != signature:
        return Probe(signature, now)
    return previous


def is_stale(probe: Probe, now: float, grace_period: float) -> bool:
    return now - probe.observed_at > grace_period


def stale_in(probe: Probe, now: float, grace_period: float) -> float:
    """Seconds until `probe` goes stale (<= 0 once it is)."""
    return probe.observed_at + grace_period - now


def ready_condition(node: Obj) -> Obj | None:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return dict(cond)
    return None


def ready_status(node: Obj) -> str:
    """"True", "False" or "Unknown" (a node that never reported is Unknown)."""
    cond = ready_condition(node)
    return str(cond.get("status") or "Unknown") if cond else "Unknown"


def unknown_conditions(node: Obj, now: str) -> list[Obj]:
    """The node's conditions once its kubelet has gone silent: every one Unknown (the
    heartbeat time stays the kubelet's), Ready added if it was never posted."""
    out: list[Obj] = []
    for cond in (node.get("status") or {}).get("conditions") or []:
        cond = copy.deepcopy(cond)
        if cond.get("status") != "Unknown":
            cond["lastTransitionTime"] = now
        cond.update(status="Unknown", reason=STATUS_UNKNOWN_REASON,
                    message=STATUS_UNKNOWN_MESSAGE)
        out.append(cond)
    if not any(c.get("type") == "Ready" for c in out):
        out.append({"type": "Ready", "status": "Unknown", "reason": NEVER_UPDATED_REASON,
                    "message": NEVER_UPDATED_MESSAGE, "lastHeartbeatTime": None,
                    "lastTransitionTime": now})
    return out


def condition_taint_key(status: str) -> str | None:
    """Which taint a Ready status calls for: not-ready (False), unreachable (Unknown)."""
    return {"False": NOT_READY_TAINT_KEY, "Unknown": UNREACHABLE_TAINT_KEY}.get(status)


def desired_taints(node: Obj, now: str) -> list[Obj]:
    """The node's taints with the not-ready/unreachable ones matching its Ready status; a
    taint that stays keeps its timeAdded (tolerationSeconds count from it)."""
    current = list((node.get("spec") or {}).get("taints") or [])
    want = condition_taint_key(ready_status(node))
    kept = [t for t in current if t.get("key") not in CONDITION_TAINT_KEYS or
            (t.get("key") == want and t.get("effect") in CONDITION_TAINT_EFFECTS)]
    for effect in CONDITION_TAINT_EFFECTS if want else ():
        if not any(t.get("key") == want and t.get("effect") == effect for t in kept):
            taint: Obj = {"key": want, "effect": effect}
            if effect == "NoExecute":
                taint["timeAdded"] = now
            kept.append(taint)
    return kept
