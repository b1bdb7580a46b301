"""The ClusterRole aggregation controller (kube's pkg/controller/clusterroleaggregation): a
ClusterRole with an aggregationRule holds the rules of every ClusterRole its selectors
match (admin, edit and view gather the aggregate-to-* roles), kept current as those change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import CLUSTERROLES
from minikube_py.api.selectors import selector_from_label_selector_object
from minikube_py.controllers.base import ControllerContext, Obj, ReconcileLoop


def _selectors(role: Obj) -> list[Any]:
    rule = role.get("aggregationRule")
    return list(rule.get("clusterRoleSelectors") or []) if isinstance(rule, dict) else []


def aggregated_rules(role: Obj, cluster_roles: Iterable[Obj]) -> list[Obj] | None:
    """The rules an aggregated ClusterRole should hold: those of every other ClusterRole a
    selector matches, by role name, each rule once (None: the role aggregates nothing)."""
    selectors = _selectors(role)
    if "aggregationRule" not in role:
        return None
    name = role["metadata"]["name"]
    parsed = []
    for sel in selectors:
        try:
            parsed.append(selector_from_label_selector_object(sel))
        except ApiError:
            continue  # an invalid selector matches nothing (validation refuses most)
    matched = sorted((r for r in cluster_roles if r["metadata"]["name"] != name and any(
        s.matches(r["metadata"].get("labels")) for s in parsed)),
        key=lambda r: r["metadata"]["name"])
    rules: list[Obj] = []
    for r in matched:
        for rule in r.get("rules") or []:
            if rule not in rules:
                rules.append(rule)
    return rules


class ClusterRoleAggregationController:
    name = "clusterrole-aggregation-controller"

    def __init__(self, ctx: ControllerContext, *, workers: int = 1) -> None:
        self.ctx = ctx
        self.roles = ctx.informers.informer(CLUSTERROLES)
        self.loop = ReconcileLoop(self, ctx, workers=workers)
        # Any ClusterRole's change may change what an aggregated one gathers.
        self.roles.add_handlers(self._changed, lambda _o, _n: self._changed(),
                                lambda _o: self._changed())

    def _changed(self, _obj: Obj | None = None) -> None:
        for role in self.roles.list():
            if "aggregationRule" in role:
                self.loop.enqueue(role)

    async def run(self) -> None:
        await self.loop.run()

    async def sync(self, key: str) -> None:
        role = self.roles.get(key)
        if role is None:
            return
        rules = aggregated_rules(role, self.roles.list())
        if rules is None or rules == (role.get("rules") or []):
            return
        try:
            await self.ctx.client.update(CLUSTERROLES, {**role, "rules": rules})
        except ApiError as e:
            if e.code not in (404, 409):  # gone, or changed meanwhile: its event requeues it
                raise
