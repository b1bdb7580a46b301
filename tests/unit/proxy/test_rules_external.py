"""Rules for a Service's external destinations: load-balancer ingress IPs and externalIPs go
through kube-proxy's EXT chain (and FW, with source ranges) to the service chain."""

from __future__ import annotations

from typing import Any

from minikube_py.proxy.rules import (
    ProxySettings,
    build_ruleset,
    chain_name,
    owned_chain_pattern,
    render_service_rules,
)
from tests.unit.proxy.test_rules import NODE, eps, rules, service

SETTINGS = ProxySettings()
SVC = chain_name(SETTINGS, "SVC", "default/web:http", "TCP")
EXT = chain_name(SETTINGS, "EXT", "default/web:http", "TCP")
FW = chain_name(SETTINGS, "FW", "default/web:http", "TCP")


def load_balancer(ingress: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    svc = service(type="LoadBalancer", **spec)
    svc["spec"]["type"] = "LoadBalancer"
    svc["spec"]["ports"][0]["nodePort"] = 30080
    svc["status"] = {"loadBalancer": {"ingress": ingress}}
    return svc


def test_a_load_balancer_ip_enters_the_ext_chain_which_masquerades_then_balances() -> None:
    out = render_service_rules([load_balancer([{"ip": "10.113.0.1", "ipMode": "VIP"}])],
                               [eps(ips=("10.244.0.5",))], NODE)
    (dispatch,) = [r for r in rules(out, "SERVICES") if "loadbalancer IP" in r]
    assert dispatch == ('-A MKPY-SERVICES -d 10.113.0.1/32 -p tcp -m comment --comment '
                        f'"default/web:http loadbalancer IP" -m tcp --dport 80 -j {EXT}')
    assert [r for r in out.splitlines() if r.startswith(f"-A {EXT} ")] == [
        f'-A {EXT} -m comment --comment "masquerade traffic for default/web:http external '
        f'destinations" -j MKPY-MARK-MASQ',
        f"-A {EXT} -j {SVC}",
    ]


def test_external_ips_enter_the_ext_chain_for_every_service_type() -> None:
    out = render_service_rules([service(externalIPs=["198.51.100.7"])],
                               [eps(ips=("10.244.0.5",))], NODE)
    (dispatch,) = [r for r in rules(out, "SERVICES") if "external IP" in r]
    assert dispatch.startswith("-A MKPY-SERVICES -d 198.51.100.7/32 -p tcp")
    assert dispatch.endswith(f"--dport 80 -j {EXT}")


def test_an_ingress_of_ip_mode_proxy_or_of_a_service_no_longer_a_load_balancer_has_no_rules(
        ) -> None:
    proxied = load_balancer([{"ip": "10.113.0.1", "ipMode": "Proxy"}])
    was_lb = load_balancer([{"ip": "10.113.0.2"}])
    was_lb["spec"]["type"] = "NodePort"
    for svc in (proxied, was_lb):
        out = render_service_rules([svc], [eps(ips=("10.244.0.5",))], NODE)
        assert "10.113.0." not in out and EXT not in out


def test_source_ranges_pass_the_fw_chain_and_the_filter_table_drops_the_rest() -> None:
    svc = load_balancer([{"ip": "10.113.0.1"}],
                        loadBalancerSourceRanges=["10.244.0.0/16", "192.168.7.0/24"])
    ruleset = build_ruleset([svc], [eps(ips=("10.244.0.5",))], NODE)
    nat, flt = ruleset.tables["nat"], ruleset.tables["filter"]
    assert any(r.startswith("-d 10.113.0.1/32") and r.endswith(f"-j {FW}")
               for r in nat["MKPY-SERVICES"])
    assert nat[FW] == (
        f'-s 10.244.0.0/16 -m comment --comment "default/web:http loadbalancer IP" -j {EXT}',
        f'-s 192.168.7.0/24 -m comment --comment "default/web:http loadbalancer IP" -j {EXT}')
    (drop,) = [r for r in flt["MKPY-SERVICES"] if r.endswith("-j DROP")]
    assert drop.startswith("-d 10.113.0.1/32 -p tcp") and "--dport 80" in drop


def test_external_addresses_without_endpoints_are_rejected_from_host_pods_and_outside() -> None:
    svc = load_balancer([{"ip": "10.113.0.1"}], externalIPs=["198.51.100.7"])
    ruleset = build_ruleset([svc], [eps(ips=())], NODE)
    flt = ruleset.tables["filter"]
    for chain in ("MKPY-SERVICES", "MKPY-EXTERNAL-SERVICES"):
        for ip in ("10.113.0.1", "198.51.100.7"):
            assert any(r.startswith(f"-d {ip}/32 -p tcp") and "has no endpoints" in r
                       and "--dport 80 -j REJECT" in r for r in flt[chain]), (chain, ip)
    assert EXT not in ruleset.tables["nat"]


def test_what_nothing_dnated_in_the_load_balancer_pool_is_refused() -> None:
    ruleset = build_ruleset([], [], NODE, ProxySettings(lb_cidr="10.113.0.0/28"))
    assert ruleset.tables["filter"]["MKPY-SERVICES"][-1] == (
        '-d 10.113.0.0/28 -m conntrack ! --ctstate DNAT -m comment --comment "minikube-py: '
        'no such service port" -j REJECT --reject-with icmp-port-unreachable')


def test_ext_and_fw_chains_are_ours_to_clean_up() -> None:
    pattern = owned_chain_pattern(SETTINGS)
    assert pattern.match(EXT) and pattern.match(FW)
    assert not owned_chain_pattern(ProxySettings(prefix="MKPY-ab12")).match(EXT)


def test_a_node_port_left_on_a_cluster_ip_service_opens_no_port() -> None:
    svc = service()
    svc["spec"]["ports"][0]["nodePort"] = 30080
    out = render_service_rules([svc], [eps(ips=("10.244.0.5",))], NODE)
    assert "30080" not in out
