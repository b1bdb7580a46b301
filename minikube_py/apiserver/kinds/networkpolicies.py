"""NetworkPolicies (networking.k8s.io/v1): stored and served, NOT enforced (no network
plugin here reads them); every create and update answers with a Warning saying so
(admission.NetworkPolicyNotEnforced)."""

from __future__ import annotations

from typing import Any

from minikube_py.api.errors import Cause
from minikube_py.api.resources import NETWORKPOLICIES
from minikube_py.api.validation import invalid_value, not_supported, required
from minikube_py.apiserver.kinds.base import Obj, Printer, Strategy
from minikube_py.apiserver.tables_format import (
    AGE_DESC,
    NAME_DESC,
    Row,
    age,
    column,
    format_label_selector,
    name,
)

NOT_ENFORCED = ("NetworkPolicy is stored but not enforced by this cluster: "
                "no network plugin applies it")
PROTOCOLS = ("SCTP", "TCP", "UDP")
POLICY_TYPES = ("Egress", "Ingress")

NETWORKPOLICY_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Pod-Selector", "Pod-Selector is a label query over pods that should be matched "
                           "by the network policy"),
    column("Age", AGE_DESC),
]


def networkpolicy_row(np: Obj, now: float) -> Row:
    return [name(np), format_label_selector((np.get("spec") or {}).get("podSelector")),
            age(np, now)]


def _ports_errors(ports: Any, field: str) -> list[Cause]:
    causes: list[Cause] = []
    for i, port in enumerate(ports or []):
        f = f"{field}[{i}]"
        if not isinstance(port, dict):
            causes.append(invalid_value(f, port, "must be an object"))
            continue
        protocol = port.get("protocol")
        if protocol is not None and protocol not in PROTOCOLS:
            causes.append(not_supported(f"{f}.protocol", protocol, PROTOCOLS))
        number, end = port.get("port"), port.get("endPort")
        if isinstance(number, int) and not 1 <= number <= 65535:
            causes.append(invalid_value(f"{f}.port", number,
                                        "must be between 1 and 65535, inclusive"))
        if end is not None:
            if not isinstance(number, int):
                causes.append(required(f"{f}.port", "must be specified when endPort is "
                                                    "specified"))
            elif not isinstance(end, int) or end < number:
                causes.append(invalid_value(f"{f}.endPort", end,
                                            "must be greater than or equal to `port`"))
    return causes


def _peers_errors(peers: Any, field: str) -> list[Cause]:
    causes: list[Cause] = []
    for i, peer in enumerate(peers or []):
        f = f"{field}[{i}]"
        if not isinstance(peer, dict):
            causes.append(invalid_value(f, peer, "must be an object"))
            continue
        set_ = [k for k in ("podSelector", "namespaceSelector", "ipBlock")
                if peer.get(k) is not None]
        if not set_:
            causes.append(required(f, "must specify a peer"))
        elif "ipBlock" in set_ and len(set_) > 1:
            causes.append(Cause("FieldValueForbidden", "Forbidden: may not specify more than "
                                                       "1 peer", f))
        block = peer.get("ipBlock")
        if isinstance(block, dict) and not block.get("cidr"):
            causes.append(required(f"{f}.ipBlock.cidr"))
    return causes


def networkpolicy_errors(spec: Any) -> list[Cause]:
    """ValidateNetworkPolicySpec: ports, peers and policy types."""
    spec = spec if isinstance(spec, dict) else {}
    causes: list[Cause] = []
    for i, rule in enumerate(spec.get("ingress") or []):
        rule = rule if isinstance(rule, dict) else {}
        causes += _ports_errors(rule.get("ports"), f"spec.ingress[{i}].ports")
        causes += _peers_errors(rule.get("from"), f"spec.ingress[{i}].from")
    for i, rule in enumerate(spec.get("egress") or []):
        rule = rule if isinstance(rule, dict) else {}
        causes += _ports_errors(rule.get("ports"), f"spec.egress[{i}].ports")
        causes += _peers_errors(rule.get("to"), f"spec.egress[{i}].to")
    types = spec.get("policyTypes") or []
    for i, t in enumerate(types):
        if t not in POLICY_TYPES:
            causes.append(not_supported(f"spec.policyTypes[{i}]", t, POLICY_TYPES))
    if len(types) > 2:
        causes.append(invalid_value("spec.policyTypes", types, "may not specify more than two "
                                                               "policyTypes"))
    return causes


class NetworkPolicyStrategy(Strategy):
    printer = Printer(NETWORKPOLICY_COLUMNS, networkpolicy_row)
    schema = "networking.NetworkPolicy"
    generation = True

    def default(self, obj: Obj) -> None:
        """SetDefaults_NetworkPolicy: ports are TCP unless told; policyTypes are Ingress,
        and Egress too when there are egress rules."""
        spec = obj.setdefault("spec", {})
        if not isinstance(spec, dict):
            return
        spec.setdefault("podSelector", {})
        for key in ("ingress", "egress"):
            for rule in spec.get(key) or []:
                for port in (rule or {}).get("ports") or []:
                    if isinstance(port, dict):
                        port.setdefault("protocol", "TCP")
        if not spec.get("policyTypes"):
            spec["policyTypes"] = ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]

    def validate(self, obj: Obj) -> list[Cause]:
        return networkpolicy_errors(obj.get("spec"))


STRATEGY = NetworkPolicyStrategy(NETWORKPOLICIES)
