"""render_service_rules: what kube-proxy-style iptables rules a cluster state turns into."""

from __future__ import annotations

import re
from typing import Any

import pytest

from minikube_py.proxy.rules import (
    ProxyNode,
    ProxySettings,
    build_ruleset,
    chain_name,
    jump_rules,
    owned_chain_pattern,
    render_restore,
    render_service_rules,
)

NODE = ProxyNode("node-1", ("10.244.0.1",), pod_bridge="mkpy0")


def service(name: str = "web", *, ip: str = "10.96.0.20", ports: list[dict[str, Any]] | None = None,
            ns: str = "default", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"namespace": ns, "name": name},
            "spec": {"clusterIP": ip, "type": "ClusterIP",
                     "ports": ports if ports is not None else
                     [{"name": "http", "port": 80, "protocol": "TCP"}], **spec}}


def eps(name: str = "web", ips: tuple[str, ...] = (), *, ports: list[dict[str, Any]] | None = None,
        ready: bool | None = True, ns: str = "default", slice_name: str = "") -> dict[str, Any]:
    cond = {} if ready is None else {"ready": ready}
    return {"metadata": {"namespace": ns, "name": slice_name or f"{name}-abc",
                         "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4",
            "ports": ports if ports is not None else
            [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [{"addresses": [ip], "conditions": cond, "nodeName": "node-1"}
                          for ip in ips]}


def rules(payload: str, chain_kind: str) -> list[str]:
    """The `-A` lines of every chain whose name starts with MKPY-<chain_kind>."""
    return [ln for ln in payload.splitlines() if ln.startswith(f"-A MKPY-{chain_kind}")]


def dnat_targets(payload: str) -> list[str]:
    return re.findall(r"--to-destination (\S+)", payload)


@pytest.mark.parametrize(("ips", "probabilities", "dnats"), [
    ((), [], []),
    (("10.244.0.5",), [], ["10.244.0.5:8080"]),
    (("10.244.0.9", "10.244.0.10", "10.244.0.3"), ["0.3333333333", "0.5000000000"],
     ["10.244.0.3:8080", "10.244.0.9:8080", "10.244.0.10:8080"]),
])
def test_cluster_ip_balances_randomly_over_ready_endpoints(
        ips: tuple[str, ...], probabilities: list[str], dnats: list[str]) -> None:
    out = render_service_rules([service()], [eps(ips=ips)], NODE)
    assert re.findall(r"--probability (\S+)", out) == probabilities
    assert sorted(dnat_targets(out)) == sorted(dnats)
    svc_rules = rules(out, "SVC")
    assert len(svc_rules) == len(ips)
    if ips:  # the last endpoint takes whatever is left, unconditionally
        assert "statistic" not in svc_rules[-1]


def test_a_service_with_endpoints_is_dispatched_by_cluster_ip_port_and_protocol() -> None:
    out = render_service_rules([service()], [eps(ips=("10.244.0.5",))], NODE)
    (dispatch,) = [r for r in rules(out, "SERVICES") if "cluster IP" in r]
    svc = chain_name(ProxySettings(), "SVC", "default/web:http", "TCP")
    assert dispatch == (f'-A MKPY-SERVICES -d 10.96.0.20/32 -p tcp -m comment --comment '
                        f'"default/web:http cluster IP" -m tcp --dport 80 -j {svc}')


def test_a_service_without_ready_endpoints_is_rejected_in_the_filter_table() -> None:
    out = render_service_rules([service()], [eps(ips=("10.244.0.5",), ready=False)], NODE)
    nat, flt = out.split("*nat")[1], out.split("*nat")[0]
    assert "10.96.0.20" not in nat
    assert ('-A MKPY-SERVICES -d 10.96.0.20/32 -p tcp -m comment --comment '
            '"default/web:http has no endpoints" -m tcp --dport 80 -j REJECT '
            '--reject-with icmp-port-unreachable') in flt


def test_endpoints_with_unset_ready_count_as_ready() -> None:
    out = render_service_rules([service()], [eps(ips=("10.244.0.5",), ready=None)], NODE)
    assert dnat_targets(out) == ["10.244.0.5:8080"]


def test_unmatched_service_range_traffic_never_leaves_the_machine() -> None:
    out = render_service_rules([], [], NODE, ProxySettings(service_cidr="10.96.0.0/12"))
    assert ("-A MKPY-SERVICES -d 10.96.0.0/12 -m conntrack ! --ctstate DNAT -m comment "
            '--comment "minikube-py: no such service port" -j REJECT '
            "--reject-with icmp-port-unreachable") in out


def test_client_ip_affinity_checks_recent_lists_before_random_choice() -> None:
    svc = service(sessionAffinity="ClientIP",
                  sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}})
    out = render_service_rules([svc], [eps(ips=("10.244.0.5", "10.244.0.6"))], NODE)
    svc_rules = rules(out, "SVC")
    assert [("--rcheck --seconds 60 --reap" in r) for r in svc_rules] == [True, True, False, False]
    for sep_rule in [r for r in rules(out, "SEP") if "DNAT" in r]:
        sep = sep_rule.split()[1]
        assert f"-m recent --set --name {sep} --mask 255.255.255.255 --rsource" in sep_rule


def test_affinity_timeout_defaults_to_three_hours() -> None:
    out = render_service_rules([service(sessionAffinity="ClientIP")],
                               [eps(ips=("10.244.0.5",))], NODE)
    assert "--seconds 10800" in out


def test_no_affinity_means_no_recent_module() -> None:
    out = render_service_rules([service()], [eps(ips=("10.244.0.5",))], NODE)
    assert "recent" not in out


def test_node_port_answers_on_the_node_addresses_and_is_the_last_dispatch_rule() -> None:
    ports = [{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30080}]
    out = render_service_rules([service(type="NodePort", ports=ports)],
                               [eps(ips=("10.244.0.5",))], NODE)
    svc = chain_name(ProxySettings(), "SVC", "default/web:http", "TCP")
    assert rules(out, "NODEPORTS") == [
        '-A MKPY-NODEPORTS -p tcp -m comment --comment "default/web:http" -m tcp '
        '--dport 30080 -j MKPY-MARK-MASQ',
        f'-A MKPY-NODEPORTS -p tcp -m comment --comment "default/web:http" -m tcp '
        f'--dport 30080 -j {svc}']
    assert rules(out, "SERVICES")[-1].startswith(
        "-A MKPY-SERVICES -d 10.244.0.1/32 -m comment")
    assert rules(out, "SERVICES")[-1].endswith("-j MKPY-NODEPORTS")


def test_node_ports_match_every_local_address_when_no_node_ip_is_given() -> None:
    out = render_service_rules([], [], ProxyNode("n"))
    assert "-m addrtype --dst-type LOCAL -m comment" in out


def test_node_port_without_endpoints_is_rejected_on_input() -> None:
    ports = [{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30080}]
    out = render_service_rules([service(type="NodePort", ports=ports)], [], NODE)
    assert any(r.startswith("-A MKPY-EXTERNAL-SERVICES -d 10.244.0.1/32 -p tcp")
               and "--dport 30080 -j REJECT" in r for r in out.splitlines())


def test_hairpin_traffic_is_marked_and_masqueraded_only_out_of_the_pod_bridge() -> None:
    out = render_service_rules([service()], [eps(ips=("10.244.0.5",))], NODE)
    assert ('-A MKPY-SEP-' in out and '-s 10.244.0.5/32 -m comment --comment '
            '"default/web:http" -j MKPY-MARK-MASQ' in out)
    assert rules(out, "MARK-MASQ") == ["-A MKPY-MARK-MASQ -j MARK --or-mark 0x4000"]
    post = rules(out, "POSTROUTING")
    assert post[0] == "-A MKPY-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN"
    (masq,) = [r for r in post if "MASQUERADE" in r]
    assert masq.startswith("-A MKPY-POSTROUTING -o mkpy0 ")
    assert out.count("MASQUERADE") == 1


def test_each_service_port_gets_its_own_chain_and_endpoint_port() -> None:
    ports = [{"name": "http", "port": 80, "protocol": "TCP"},
             {"name": "dns", "port": 53, "protocol": "UDP"}]
    slice_ports = [{"name": "http", "port": 8080, "protocol": "TCP"},
                   {"name": "dns", "port": 5353, "protocol": "UDP"}]
    out = render_service_rules([service(ports=ports)],
                               [eps(ips=("10.244.0.5",), ports=slice_ports)], NODE)
    assert sorted(dnat_targets(out)) == ["10.244.0.5:5353", "10.244.0.5:8080"]
    assert "-p udp -m comment --comment \"default/web:dns cluster IP\" -m udp --dport 53" in out
    assert len({r.split()[1] for r in rules(out, "SVC")}) == 2


def test_named_ports_take_the_endpoint_slice_port_of_the_same_name() -> None:
    ports = [{"name": "web", "port": 80, "protocol": "TCP", "targetPort": "http-alt"}]
    slice_ports = [{"name": "other", "port": 9999, "protocol": "TCP"},
                   {"name": "web", "port": 8081, "protocol": "TCP"}]
    out = render_service_rules([service(ports=ports)],
                               [eps(ips=("10.244.0.5",), ports=slice_ports)], NODE)
    assert dnat_targets(out) == ["10.244.0.5:8081"]


def test_an_unnamed_port_is_displayed_without_a_port_name() -> None:
    out = render_service_rules([service(ports=[{"port": 80, "protocol": "TCP"}])],
                               [eps(ips=("10.244.0.5",), ports=[{"port": 80}])], NODE)
    assert '"default/web cluster IP"' in out


def test_endpoints_from_several_slices_are_merged_and_deduplicated() -> None:
    out = render_service_rules(
        [service()], [eps(ips=("10.244.0.5", "10.244.0.6"), slice_name="a"),
                      eps(ips=("10.244.0.6", "10.244.0.7"), slice_name="b")], NODE)
    assert sorted(dnat_targets(out)) == ["10.244.0.5:8080", "10.244.0.6:8080",
                                         "10.244.0.7:8080"]


def test_slices_of_another_namespace_or_service_are_ignored() -> None:
    out = render_service_rules([service()], [eps(ips=("10.244.0.5",), ns="other"),
                                             eps("db", ips=("10.244.0.6",))], NODE)
    assert dnat_targets(out) == []


@pytest.mark.parametrize("spec", [
    {"clusterIP": "None"}, {"type": "ExternalName", "clusterIP": "", "externalName": "x.io"},
])
def test_headless_and_external_name_services_get_no_rules(spec: dict[str, Any]) -> None:
    out = render_service_rules([service(**spec)], [eps(ips=("10.244.0.5",))], NODE)
    assert "default/web" not in out


def test_rendering_is_deterministic_whatever_the_input_order() -> None:
    services = [service(f"s{i}", ip=f"10.96.1.{i}") for i in range(5)]
    slices = [eps(f"s{i}", ips=tuple(f"10.244.0.{i * 3 + k}" for k in range(3)))
              for i in range(5)]
    first = render_service_rules(services, slices, NODE)
    again = render_service_rules(list(reversed(services)), list(reversed(slices)), NODE)
    assert first.encode() == again.encode()


def test_an_incremental_payload_rewrites_only_changed_chains_and_deletes_stale_ones() -> None:
    before = build_ruleset([service("a", ip="10.96.0.2"), service("b", ip="10.96.0.3")],
                           [eps("a", ips=("10.244.0.5",)), eps("b", ips=("10.244.0.6",))], NODE)
    after = build_ruleset([service("a", ip="10.96.0.2"), service("b", ip="10.96.0.3")],
                          [eps("a", ips=("10.244.0.5",)), eps("b", ips=("10.244.0.7",))], NODE)
    out = render_restore(after, previous=before)
    a_svc = chain_name(ProxySettings(), "SVC", "default/a:http", "TCP")
    b_svc = chain_name(ProxySettings(), "SVC", "default/b:http", "TCP")
    old_sep = [c for c in before.tables["nat"] if c not in after.tables["nat"]]
    assert a_svc not in out and f":{b_svc} - [0:0]" in out
    assert "*filter" not in out  # nothing changed there
    assert [f"-X {c}" for c in old_sep] == [ln for ln in out.splitlines() if ln.startswith("-X")]
    assert render_restore(after, previous=after) == ""


def test_chains_found_in_the_kernel_but_no_longer_wanted_are_deleted() -> None:
    out = render_restore(build_ruleset([], [], NODE),
                         existing={"nat": ["MKPY-SVC-AAAAAAAAAAAAAAAA"]})
    assert ":MKPY-SVC-AAAAAAAAAAAAAAAA - [0:0]" in out
    assert "-X MKPY-SVC-AAAAAAAAAAAAAAAA" in out


def test_chain_names_fit_the_kernel_limit_with_a_longer_prefix() -> None:
    settings = ProxySettings(prefix="MKPY-ab12")
    out = render_service_rules([service()], [eps(ips=("10.244.0.5",))], NODE, settings)
    names = {ln[1:].split()[0] for ln in out.splitlines() if ln.startswith(":")}
    assert all(len(n) <= 28 and owned_chain_pattern(settings).match(n) for n in names)


def test_a_prefix_owns_only_its_own_chains() -> None:
    mine = owned_chain_pattern(ProxySettings(prefix="MKPY"))
    assert mine.match("MKPY-SERVICES") and mine.match("MKPY-SEP-ABCDEFGH234")
    assert not mine.match("MKPY-ab12-SERVICES")
    assert not mine.match("KUBE-SERVICES") and not mine.match("MKPY-SVC-lower")


def test_jump_rules_enter_our_chains_from_the_built_in_ones() -> None:
    jumps = {(t, c): " ".join(args) for t, c, args in jump_rules(ProxySettings())}
    assert set(jumps) == {("nat", "PREROUTING"), ("nat", "OUTPUT"), ("nat", "POSTROUTING"),
                          ("filter", "INPUT"), ("filter", "FORWARD"), ("filter", "OUTPUT")}
    assert jumps[("nat", "OUTPUT")].endswith("-j MKPY-SERVICES")
    assert jumps[("filter", "INPUT")].endswith("-j MKPY-EXTERNAL-SERVICES")


def test_each_bridge_gets_its_own_chain_prefix() -> None:
    from minikube_py.proxy.rules import settings_for_bridge
    assert settings_for_bridge("mkpy0").prefix == "MKPY"
    other = settings_for_bridge("mkpyt0").prefix
    assert re.fullmatch(r"MKPY-[0-9a-f]{4}", other)
    assert settings_for_bridge("mkpyt0").prefix == other


def test_traffic_from_outside_the_cluster_cidr_is_masqueraded() -> None:
    settings = ProxySettings(cluster_cidr="10.244.0.0/16")
    out = render_service_rules([service()], [eps(ips=("10.244.0.5",))], NODE, settings)
    services = rules(out, "SERVICES")
    mark = [r for r in services if "MARK-MASQ" in r]
    assert mark and mark[0].startswith("-A MKPY-SERVICES ! -s 10.244.0.0/16 -d 10.96.0.20/32")
    assert services.index(mark[0]) < next(i for i, r in enumerate(services) if "-j MKPY-SVC-" in r)


def test_service_traffic_to_pods_on_other_nodes_is_masqueraded_only_into_the_pod_range(
        ) -> None:
    """A NodePort's client may be anywhere and its endpoint on another node: the answer must
    come back through this node, so the marked traffic is masqueraded towards the cluster's
    pod range too, and still towards nothing else."""
    settings = ProxySettings(cluster_cidr="10.244.0.0/16")
    out = render_service_rules([service()], [eps(ips=("10.244.1.5",))], NODE, settings)
    masq = [r for r in rules(out, "POSTROUTING") if "MASQUERADE" in r]
    assert [r.split(" -m comment")[0] for r in masq] == [
        "-A MKPY-POSTROUTING -o mkpy0", "-A MKPY-POSTROUTING -d 10.244.0.0/16"]
