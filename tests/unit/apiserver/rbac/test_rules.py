"""What a PolicyRule allows (kube's RuleAllows) and what rules cover (the escalation check's
Covers), table by table."""

import pytest

from minikube_py.apiserver.rbac.rules import (
    PolicyRule,
    Request,
    compact,
    covers,
    rule_allows,
)

PODS_READER = PolicyRule(("get", "list"), ("",), ("pods",))


def res(verb: str, resource: str, *, group: str = "", sub: str = "", name: str = "") -> Request:
    return Request(verb, group, resource, sub, name)


def url(verb: str, path: str) -> Request:
    return Request(verb, path=path, resource_request=False)


@pytest.mark.parametrize(("rule", "request_", "allowed"), [
    # verbs
    (PODS_READER, res("get", "pods"), True),
    (PODS_READER, res("list", "pods"), True),
    (PODS_READER, res("watch", "pods"), False),
    (PolicyRule(("*",), ("",), ("pods",)), res("delete", "pods"), True),
    # API groups
    (PODS_READER, res("get", "pods", group="metrics.k8s.io"), False),
    (PolicyRule(("get",), ("*",), ("pods",)), res("get", "pods", group="metrics.k8s.io"), True),
    (PolicyRule(("get",), ("apps",), ("deployments",)), res("get", "deployments", group="apps"),
     True),
    # resources and subresources
    (PODS_READER, res("get", "secrets"), False),
    (PODS_READER, res("get", "pods", sub="log"), False),
    (PolicyRule(("get",), ("",), ("pods/log",)), res("get", "pods", sub="log"), True),
    (PolicyRule(("get",), ("",), ("pods/log",)), res("get", "pods"), False),
    (PolicyRule(("get",), ("",), ("pods/log",)), res("get", "pods", sub="exec"), False),
    (PolicyRule(("get",), ("*",), ("*/scale",)), res("get", "deployments", group="apps",
                                                     sub="scale"), True),
    (PolicyRule(("get",), ("*",), ("*/scale",)), res("get", "deployments", group="apps"),
     False),
    (PolicyRule(("get",), ("",), ("*",)), res("get", "pods", sub="log"), True),
    # resourceNames
    (PolicyRule(("get",), ("",), ("pods",), ("web",)), res("get", "pods", name="web"), True),
    (PolicyRule(("get",), ("",), ("pods",), ("web",)), res("get", "pods", name="db"), False),
    (PolicyRule(("list",), ("",), ("pods",), ("web",)), res("list", "pods"), False),
    (PODS_READER, res("get", "pods", name="anything"), True),
    # non-resource URLs
    (PolicyRule(("get",), non_resource_urls=("/healthz",)), url("get", "/healthz"), True),
    (PolicyRule(("get",), non_resource_urls=("/healthz",)), url("get", "/healthz/etcd"), False),
    (PolicyRule(("get",), non_resource_urls=("/healthz*",)), url("get", "/healthz/etcd"), True),
    (PolicyRule(("get",), non_resource_urls=("/apis/*",)), url("get", "/apis/apps/v1"), True),
    (PolicyRule(("get",), non_resource_urls=("/apis/*",)), url("get", "/api"), False),
    (PolicyRule(("*",), non_resource_urls=("*",)), url("post", "/anything"), True),
    (PolicyRule(("get",), non_resource_urls=("/version",)), url("post", "/version"), False),
    # a resource rule never matches a path, nor a URL rule a resource
    (PolicyRule(("*",), ("*",), ("*",)), url("get", "/healthz"), False),
    (PolicyRule(("*",), non_resource_urls=("*",)), res("get", "pods"), False),
])
def test_rule_allows(rule: PolicyRule, request_: Request, allowed: bool) -> None:
    assert rule_allows(rule, request_) is allowed


@pytest.mark.parametrize(("owner", "wanted", "missing"), [
    ([PODS_READER], [PolicyRule(("get",), ("",), ("pods",))], []),
    ([PODS_READER], [PolicyRule(("get", "delete"), ("",), ("pods",))],
     [PolicyRule(("delete",), ("",), ("pods",))]),
    ([PolicyRule(("*",), ("*",), ("*",))], [PolicyRule(("escalate",), ("x",), ("y/z",))], []),
    # names: a rule for every name covers one name, not the other way round
    ([PODS_READER], [PolicyRule(("get",), ("",), ("pods",), ("web",))], []),
    ([PolicyRule(("get",), ("",), ("pods",), ("web",))], [PolicyRule(("get",), ("",), ("pods",))],
     [PolicyRule(("get",), ("",), ("pods",))]),
    # subresources through */
    ([PolicyRule(("get",), ("apps",), ("*/scale",))],
     [PolicyRule(("get",), ("apps",), ("deployments/scale",))], []),
    ([PolicyRule(("get",), ("",), ("pods",))], [PolicyRule(("get",), ("",), ("pods/log",))],
     [PolicyRule(("get",), ("",), ("pods/log",))]),
    # URLs, with a * suffix
    ([PolicyRule(("get",), non_resource_urls=("/healthz*",))],
     [PolicyRule(("get",), non_resource_urls=("/healthz/etcd",))], []),
    ([PolicyRule(("get",), non_resource_urls=("/healthz",))],
     [PolicyRule(("get",), non_resource_urls=("/metrics",))],
     [PolicyRule(("get",), non_resource_urls=("/metrics",))]),
])
def test_covers_lists_what_the_owner_does_not_hold(owner: list[PolicyRule],
                                                   wanted: list[PolicyRule],
                                                   missing: list[PolicyRule]) -> None:
    assert covers(owner, wanted) == missing


def test_compact_merges_verbs_of_one_group_and_resource() -> None:
    parts = [PolicyRule(("get",), ("",), ("pods",)), PolicyRule(("list",), ("",), ("pods",)),
             PolicyRule(("get",), ("",), ("secrets",))]
    assert compact(parts) == [PolicyRule(("get", "list"), ("",), ("pods",)),
                              PolicyRule(("get",), ("",), ("secrets",))]


def test_compact_string_is_kubes() -> None:
    assert PODS_READER.compact_string() == \
        '{APIGroups:[""], Resources:["pods"], Verbs:["get" "list"]}'
