"""Which host network a cluster may take, decided from a snapshot of the host: never a
bridge, range or mark bit that another cluster or interface holds."""

from __future__ import annotations

import dataclasses
import random

import pytest

from minikube_py.clustersettings import ClusterSettings, HostClaim
from minikube_py.hostclaim import ClaimRefused, check_host, choose_claim, orphaned_claim
from minikube_py.proxy.rules import MASQUERADE_MARK_BITS
from minikube_py.runtime.hostnet import (
    METRIC_FLOOR,
    HostState,
    Link,
    cluster_routes,
    owner_alias,
    peer_route,
)

OURS = ClusterSettings(node_name="n1", bridge="mkpyt1", pod_cidr="10.244.201.0/24",
                       service_cidr="10.112.1.0/24")
CLAIM = HostClaim(owner="aaaa0001", iptables_prefix="MKPY-aaaa", masquerade_mark=0x10000,
                  route_metric=METRIC_FLOOR + 400)
UPLINK = Link("eth0", "", "", ("192.0.2.2/24",))


def other_cluster(*, bridge: str = "mkpyt2", pod_cidr: str = "10.244.202.0/24",
                  cluster_cidr: str = "10.244.0.0/16", service_cidr: str = "10.112.2.0/24",
                  owner: str = "bbbb0002", metric: int = METRIC_FLOOR + 800,
                  with_bridge: bool = True) -> HostState:
    """The host as another running cluster leaves it (its bridge gone if not with_bridge)."""
    gateway = pod_cidr.replace(".0/", ".1/")
    links = (UPLINK, Link(bridge, "bridge", owner_alias(owner, "/other/data"), (gateway,)))
    routes = tuple(r for r in cluster_routes(bridge=bridge, pod_cidr=pod_cidr,
                                             cluster_cidr=cluster_cidr,
                                             service_cidr=service_cidr, metric_base=metric)
                   if with_bridge or not r.dev)
    return HostState(links if with_bridge else (UPLINK,), routes)


def refusal(settings: ClusterSettings, host: HostState, *, own_network: bool = True,
            adopt_unmarked_bridge: bool = False) -> ClaimRefused:
    with pytest.raises(ClaimRefused) as e:
        check_host(settings, claim=None, host=host, own_network=own_network,
                   adopt_unmarked_bridge=adopt_unmarked_bridge)
    return e.value


def with_(**changes: str) -> ClusterSettings:
    return dataclasses.replace(OURS, **changes)


# --- check_host ----------------------------------------------------------------------------

def test_a_fresh_host_refuses_nothing() -> None:
    check_host(OURS, claim=None, host=HostState((UPLINK,)))


def test_a_second_cluster_apart_from_the_first_is_accepted() -> None:
    check_host(OURS, claim=None, host=other_cluster())


def test_clusters_may_share_the_cluster_pod_range() -> None:
    check_host(OURS, claim=None, host=other_cluster(cluster_cidr=OURS.cluster_cidr))


def test_our_own_bridge_and_routes_are_ours() -> None:
    mine = other_cluster(bridge=OURS.bridge, pod_cidr=OURS.pod_cidr,
                         service_cidr=OURS.service_cidr, owner=CLAIM.owner,
                         metric=CLAIM.route_metric)
    check_host(OURS, claim=CLAIM, host=mine)


def test_another_clusters_bridge_is_refused_naming_its_data_dir() -> None:
    error = refusal(OURS, other_cluster(bridge=OURS.bridge, pod_cidr="10.244.203.0/24"))
    assert error.flag == "--bridge"
    assert "pod bridge of the minikube-py cluster in /other/data" in str(error)


def test_our_bridge_name_taken_by_an_unmarked_interface_is_refused() -> None:
    host = HostState((UPLINK, Link(OURS.bridge, "bridge", "", ())))
    assert refusal(OURS, host).flag == "--bridge"


def test_an_unmarked_bridge_is_adopted_by_a_legacy_data_dir() -> None:
    host = HostState((UPLINK, Link(OURS.bridge, "bridge", "", ("10.244.201.1/24",))))
    check_host(OURS, claim=None, host=host, adopt_unmarked_bridge=True)


def test_a_legacy_data_dir_does_not_adopt_an_interface_that_is_no_bridge() -> None:
    host = HostState((UPLINK, Link(OURS.bridge, "veth", "", ())))
    assert refusal(OURS, host, adopt_unmarked_bridge=True).flag == "--bridge"


def test_with_a_foreign_containerd_the_bridge_name_is_not_ours_to_check() -> None:
    check_host(OURS, claim=None, host=other_cluster(bridge=OURS.bridge, pod_cidr="10.244.9.0/24"),
               own_network=False)


@pytest.mark.parametrize(("ours", "theirs", "flag"), [
    ({"service_cidr": "10.112.2.0/24"}, {}, "--service-cidr"),
    ({"service_cidr": "10.112.0.0/16"}, {}, "--service-cidr"),
    ({"pod_cidr": "10.244.202.0/24"}, {}, "--pod-cidr"),
    ({"service_cidr": "10.244.202.0/28", "cluster_cidr": "10.248.0.0/16",
      "pod_cidr": "10.248.1.0/24"}, {}, "--service-cidr"),
    ({"cluster_cidr": "10.112.0.0/16", "pod_cidr": "10.112.9.0/24",
      "service_cidr": "10.96.0.0/12"}, {}, "--cluster-cidr"),
    ({}, {"service_cidr": "10.244.201.0/28", "cluster_cidr": "10.248.0.0/16",
          "pod_cidr": "10.248.2.0/24"}, "--pod-cidr"),
])
@pytest.mark.parametrize("with_bridge", [True, False])
def test_a_range_another_cluster_holds_is_refused(ours: dict[str, str], theirs: dict[str, str],
                                                  flag: str, with_bridge: bool) -> None:
    # Its routes say what it holds even while its bridge is gone.
    error = refusal(with_(**ours), other_cluster(with_bridge=with_bridge, **theirs))
    assert error.flag == flag and str(error).startswith(flag)
    assert "another minikube-py cluster" in str(error) or "/other/data" in str(error)


@pytest.mark.parametrize(("ours", "uplink", "flag"), [
    ({"pod_cidr": "192.0.2.0/25", "cluster_cidr": "192.0.2.0/24"}, "192.0.2.2/24",
     "--pod-cidr"),
    ({"service_cidr": "192.0.0.0/16"}, "192.0.2.2/24", "--service-cidr"),
    # The cluster's unreachable route would cut into it (and the node's range lies in it).
    ({}, "10.245.0.1/15", "--pod-cidr"),
])
def test_a_range_on_one_of_the_hosts_interfaces_is_refused(ours: dict[str, str], uplink: str,
                                                           flag: str) -> None:
    error = refusal(with_(**ours), HostState((Link("eth0", "", "", (uplink,)),)))
    assert error.flag == flag and "on eth0" in str(error)


def test_an_interface_subnet_inside_the_cluster_range_is_left_to_win_by_specificity() -> None:
    check_host(OURS, claim=None, host=HostState((UPLINK, Link("br9", "bridge", "",
                                                              ("10.244.77.1/24",)))))


def with_peer(host: HostState, dst: str, metric: int = METRIC_FLOOR + 800) -> HostState:
    """The host with one more host-gw route of a cluster to one of its other nodes."""
    return HostState(host.links, (*host.routes, peer_route(dst, "10.201.0.12", metric)))


def test_a_peer_node_range_of_another_cluster_is_part_of_the_shared_cluster_range() -> None:
    # As for a shared cluster range: the routes on this host that are more specific win.
    check_host(OURS, claim=None, host=with_peer(other_cluster(), OURS.pod_cidr))


def test_our_service_range_on_another_clusters_peer_node_range_is_refused() -> None:
    # (Its peer routes alone, to see the refusal name the one it is.)
    error = refusal(with_(service_cidr="10.244.9.0/28"),
                    with_peer(HostState((UPLINK,)), "10.244.9.0/24"))
    assert error.flag == "--service-cidr"
    assert "the pod range 10.244.9.0/24 of the node at 10.201.0.12 of another minikube-py " \
           "cluster" in str(error)


def test_our_own_peer_node_routes_are_ours() -> None:
    host = with_peer(HostState((UPLINK,)), "10.112.1.0/24", metric=CLAIM.route_metric)
    check_host(OURS, claim=CLAIM, host=host)


def test_the_metric_base_of_a_cluster_with_only_peer_routes_left_is_not_drawn() -> None:
    first = choose_claim(None, host=HostState((UPLINK,)), iptables="", rng=random.Random(7))
    host = with_peer(HostState((UPLINK,)), "10.244.9.0/24", metric=first.route_metric)
    again = choose_claim(None, host=host, iptables="", rng=random.Random(7))
    assert again.route_metric != first.route_metric


# --- choose_claim --------------------------------------------------------------------------

def saved(*chains: tuple[str, str]) -> str:
    """iptables-save text: each (chain, rule) as a declaration and a rule."""
    return "".join(f":{c} - [0:0]\n-A {c} {rule}\n" for c, rule in chains)


def test_a_new_claim_draws_an_owner_its_prefix_a_metric_base_and_the_first_mark() -> None:
    claim = choose_claim(None, host=HostState(), iptables="", rng=random.Random(1))
    assert len(claim.owner) == 8 and claim.iptables_prefix == f"MKPY-{claim.owner[:4]}"
    assert claim.route_metric >= METRIC_FLOOR and claim.route_metric % 4 == 0
    assert claim.masquerade_mark == MASQUERADE_MARK_BITS[0]


def test_the_same_seed_draws_the_same_claim() -> None:
    draw = [choose_claim(None, host=HostState(), iptables="", rng=random.Random(7))
            for _ in range(2)]
    assert draw[0] == draw[1]


def test_a_remembered_claim_is_kept() -> None:
    assert choose_claim(CLAIM, host=HostState(), iptables="", rng=random.Random(1)) == CLAIM


def test_a_mark_bit_another_cluster_uses_is_not_taken() -> None:
    rules = saved(("MKPY-bbbb-MARK-MASQ", "-j MARK --set-xmark 0x10000/0x10000"),
                  ("MKPY-MARK-MASQ", "-j MARK --set-xmark 0x4000/0x4000"),
                  ("MKPY-cccc-POSTROUTING", "-j MARK --set-xmark 0x20000/0x0"))
    claim = choose_claim(None, host=HostState(), iptables=rules, rng=random.Random(1))
    assert claim.masquerade_mark == 0x40000


def test_a_remembered_mark_bit_taken_meanwhile_by_another_cluster_is_replaced() -> None:
    rules = saved(("MKPY-bbbb-MARK-MASQ", f"-j MARK --set-xmark {CLAIM.masquerade_mark:#x}/"
                                          f"{CLAIM.masquerade_mark:#x}"))
    claim = choose_claim(CLAIM, host=HostState(), iptables=rules, rng=random.Random(1))
    assert claim.masquerade_mark != CLAIM.masquerade_mark
    assert (claim.owner, claim.iptables_prefix) == (CLAIM.owner, CLAIM.iptables_prefix)


def test_our_own_chains_do_not_take_our_mark_bit() -> None:
    rules = saved((f"{CLAIM.iptables_prefix}-MARK-MASQ",
                   f"-j MARK --set-xmark {CLAIM.masquerade_mark:#x}/{CLAIM.masquerade_mark:#x}"))
    claim = choose_claim(CLAIM, host=HostState(), iptables=rules, rng=random.Random(1))
    assert claim.masquerade_mark == CLAIM.masquerade_mark


def test_when_every_mark_bit_is_taken_the_claim_is_refused() -> None:
    rules = saved(*[(f"MKPY-{i:04x}-MARK-MASQ", f"-j MARK --set-xmark {bit:#x}/{bit:#x}")
                    for i, bit in enumerate(MASQUERADE_MARK_BITS)])
    with pytest.raises(ClaimRefused, match="no masquerade mark bit"):
        choose_claim(None, host=HostState(), iptables=rules, rng=random.Random(1))


def test_an_owner_whose_chain_prefix_is_in_use_is_not_drawn() -> None:
    first = choose_claim(None, host=HostState(), iptables="", rng=random.Random(3))
    rules = saved((f"{first.iptables_prefix}-SERVICES", "-j RETURN"))
    again = choose_claim(None, host=HostState(), iptables=rules, rng=random.Random(3))
    assert again.iptables_prefix != first.iptables_prefix


def test_a_metric_base_another_cluster_uses_is_not_drawn() -> None:
    first = choose_claim(None, host=HostState(), iptables="", rng=random.Random(5))
    host = other_cluster(metric=first.route_metric)
    again = choose_claim(None, host=host, iptables="", rng=random.Random(5))
    assert again.route_metric != first.route_metric


def test_a_legacy_data_dir_keeps_its_chain_prefix() -> None:
    claim = choose_claim(None, host=HostState(), iptables="", rng=random.Random(1),
                         legacy_prefix="MKPY")
    assert claim.iptables_prefix == "MKPY"


# --- orphaned_claim ------------------------------------------------------------------------

def test_a_bridge_naming_a_gone_data_dir_gives_back_its_owner_chains_and_route_base() -> None:
    host = other_cluster(owner="bbbb0002", metric=METRIC_FLOOR + 800)
    assert orphaned_claim(host, "/other/data") == (
        "mkpyt2", HostClaim(owner="bbbb0002", iptables_prefix="MKPY-bbbb", masquerade_mark=0,
                            route_metric=METRIC_FLOOR + 800))


def test_no_bridge_names_another_data_dir() -> None:
    assert orphaned_claim(other_cluster(), "/some/other/data") is None
    assert orphaned_claim(HostState((UPLINK,)), "/other/data") is None


def test_without_a_route_on_its_bridge_no_route_is_claimed() -> None:
    host = other_cluster()
    host = HostState(host.links, tuple(r for r in host.routes if not r.dev))
    found = orphaned_claim(host, "/other/data")
    assert found is not None and found[1].route_metric == -1


def test_a_load_balancer_range_may_not_overlap_another_clusters_ranges_or_an_interface(
        ) -> None:
    host = other_cluster()
    e = refusal(with_(lb_cidr="10.112.2.0/28"), host)
    assert e.flag == "--lb-cidr" and "10.112.2.0/24" in str(e)
    assert refusal(with_(lb_cidr="192.0.2.128/28"), host).flag == "--lb-cidr"


def test_another_clusters_load_balancer_range_is_held_as_its_service_range() -> None:
    pool = cluster_routes(bridge="mkpyt2", pod_cidr="10.244.202.0/24",
                          cluster_cidr="10.244.0.0/16", service_cidr="10.112.2.0/24",
                          metric_base=METRIC_FLOOR + 800, lb_cidr="10.113.2.0/28")
    host = HostState(other_cluster().links, tuple(pool))
    assert refusal(with_(lb_cidr="10.113.2.8/29"), host).flag == "--lb-cidr"
    assert refusal(with_(service_cidr="10.113.2.0/28"), host).flag == "--service-cidr"
    check_host(with_(lb_cidr="10.113.1.0/28"), claim=None, host=host)
