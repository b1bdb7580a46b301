"""What the replicated workload kinds share: generation and fresh status, template and
selector validation, the immutable selector, and the Scale view of a label selector."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from minikube_py.api.errors import Cause
from minikube_py.api.validation import invalid_value
from minikube_py.apiserver.kinds.base import Obj, ScaleSpec, Strategy
from minikube_py.apiserver.kinds.podspec import (
    validate_replicas,
    validate_selector_matches,
    validate_template,
)
from minikube_py.apiserver.tables_format import format_label_selector


def _label_selector_text(obj: Obj) -> str:
    """status.selector of a Scale: LabelSelectorAsSelector(selector).String(), so
    requirements sorted by key (and their values), an empty selector as ""."""
    selector = (obj.get("spec") or {}).get("selector") or {}
    if not (selector.get("matchLabels") or selector.get("matchExpressions")):
        return ""
    return format_label_selector(selector)


LABEL_SELECTOR_SCALE = ScaleSpec(_label_selector_text)


class WorkloadStrategy(Strategy):
    """A kind whose spec is watched by its controller: generation, a fresh status."""

    generation = True
    fresh_status: Obj | None = {}

    def pod_template(self, obj: Obj) -> Obj | None:
        template = (obj.get("spec") or {}).get("template")
        return template if isinstance(template, dict) else None


def validate_replicated(obj: Obj, noun: str) -> list[Cause]:
    """replicas, a pod template (restartPolicy Always) and a selector that matches it."""
    spec = obj.get("spec") or {}
    claims = [(t.get("metadata") or {}).get("name") or ""
              for t in spec.get("volumeClaimTemplates") or [] if isinstance(t, Mapping)]
    return validate_replicas(spec, "spec") + validate_template(spec, "spec", claims=claims) + \
        validate_selector_matches(spec, "spec", noun)


def immutable_selector(new: Obj, old: Obj) -> list[Cause]:
    if (old.get("spec") or {}).get("selector") != (new.get("spec") or {}).get("selector"):
        return [invalid_value("spec.selector", (new.get("spec") or {}).get("selector"),
                              "field is immutable")]
    return []


def status_replicas_field(o: Mapping[str, Any]) -> dict[str, str]:
    # An int32 in kube: no replicas yet selects as "0".
    return {"status.replicas": str((o.get("status") or {}).get("replicas") or 0)}
