"""The kinds the API server serves, and objects of them as the generators vary them."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from minikube_py.api.patch import merge_patch
from minikube_py.api.resources import Resource
from minikube_py.apiserver.service import ApiService
from minikube_py.store.memory import MemoryKV

from .values import clone, mutated, typed

_KINDS = ApiService(MemoryKV()).kinds
# The stored kinds, and the reviews (answered, never stored); the resource metrics, read
# from the kubelets, are neither (tests/integration/test_resource_metrics.py).
RESOURCES: list[Resource] = [r for r in _KINDS.resources() if _KINDS.strategy(r).stored]
REVIEWS: list[Resource] = [r for r in _KINDS.resources() if not _KINDS.strategy(r).stored
                           and _KINDS.strategy(r).reads is None]


def _merge(base: Any, overlay: Any) -> Any:
    return merge_patch(base, overlay) if isinstance(overlay, dict) else base


@st.composite
def variant(draw: st.DrawFn, strategy: Any, base: dict[str, Any]) -> Any:
    """The object as it is, with typed fields added along its schema, or mutated."""
    choice = draw(st.sampled_from(["as-is", "typed", "typed", "mutated", "typed+mutated"]))
    if choice == "as-is":
        return base
    out = base
    if choice.startswith("typed"):
        out = _merge(clone(base), draw(typed(strategy.schema)))
    if choice.endswith("mutated"):
        out = draw(mutated(out))
    return out
