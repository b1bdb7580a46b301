"""The service load balancer's pure core: one address of the pool per Service, the one it
asks for when that is free, none for a Service of another class."""

from __future__ import annotations

from typing import Any

from minikube_py.controllers.servicelb import (
    LOAD_BALANCER_CLASS,
    AddressPool,
    NodeAddressPorts,
    Plan,
    node_ips,
    plan_node_address,
    plan_service,
)


def lb(name: str = "web", *, ingress: tuple[str, ...] = (), ports: tuple[int, ...] = (80,),
       **spec: Any) -> dict[str, Any]:
    return {"metadata": {"namespace": "default", "name": name},
            "spec": {"type": "LoadBalancer", "ports": [{"port": p, "protocol": "TCP"}
                                                       for p in ports], **spec},
            "status": {"loadBalancer": {"ingress": [{"ip": ip} for ip in ingress]}}}


def test_a_pool_hands_out_its_host_addresses_lowest_first_and_each_once() -> None:
    pool = AddressPool("10.113.0.0/30")
    assert pool.size == 2
    assert [pool.allocate("a"), pool.allocate("b"), pool.allocate("c")] == [
        "10.113.0.1", "10.113.0.2", None]
    assert pool.allocate("a") == "10.113.0.1"  # what it holds, not a second one
    assert pool.release("a") == "10.113.0.1" and pool.allocate("c") == "10.113.0.1"


def test_a_32_pool_is_its_one_address() -> None:
    pool = AddressPool("10.113.0.7/32")
    assert pool.size == 1 and pool.allocate("a") == "10.113.0.7"


def test_every_load_balancer_of_no_class_or_ours_gets_an_address() -> None:
    pool = AddressPool("10.113.0.0/29")
    assert plan_service(pool, "default/a", lb("a")) == Plan(("10.113.0.1",))
    assert plan_service(pool, "default/b", lb("b", loadBalancerClass=LOAD_BALANCER_CLASS)) == \
        Plan(("10.113.0.2",))


def test_a_service_of_another_class_is_left_alone() -> None:
    pool = AddressPool("10.113.0.0/29")
    other = lb(loadBalancerClass="example.com/metal", ingress=("203.0.113.9",))
    assert plan_service(pool, "default/web", other) == Plan(None)
    assert pool.address_of("default/web") is None


def test_the_requested_load_balancer_ip_is_given_when_in_the_pool_and_free() -> None:
    pool = AddressPool("10.113.0.0/29")
    assert plan_service(pool, "default/a", lb("a", loadBalancerIP="10.113.0.5")) == \
        Plan(("10.113.0.5",))
    taken = plan_service(pool, "default/b", lb("b", loadBalancerIP="10.113.0.5"))
    assert taken.ingress == () and "in use by Service default/a" in taken.refusal
    outside = plan_service(pool, "default/c", lb("c", loadBalancerIP="10.9.9.9"))
    assert outside.ingress == () and "not in the load-balancer pool 10.113.0.0/29" in \
        outside.refusal


def test_an_exhausted_pool_refuses_without_touching_the_status() -> None:
    pool = AddressPool("10.113.0.0/30")
    plan_service(pool, "default/a", lb("a"))
    plan_service(pool, "default/b", lb("b"))
    plan = plan_service(pool, "default/c", lb("c"))
    assert plan.ingress is None and "used up" in plan.refusal


def test_a_type_change_releases_the_address_and_clears_the_status() -> None:
    pool = AddressPool("10.113.0.0/29")
    plan_service(pool, "default/a", lb("a"))
    now_cluster_ip = lb("a", ingress=("10.113.0.1",))
    now_cluster_ip["spec"]["type"] = "ClusterIP"
    assert plan_service(pool, "default/a", now_cluster_ip) == Plan(())
    assert pool.address_of("default/a") is None


def test_a_deleted_service_frees_its_address() -> None:
    pool = AddressPool("10.113.0.0/30")
    plan_service(pool, "default/a", lb("a"))
    assert plan_service(pool, "default/a", None) == Plan(None)
    assert pool.allocate("default/b") == "10.113.0.1"


# --- without a pool: the nodes' addresses ----------------------------------------------------

NODES = ("10.200.0.11", "10.200.0.12")


def test_without_a_pool_every_node_address_is_the_ingress() -> None:
    claims = NodeAddressPorts()
    assert plan_node_address(claims, "default/a", lb("a"), NODES) == Plan(NODES)
    assert plan_node_address(claims, "default/b", lb("b", ports=(8080,)), NODES) == Plan(NODES)


def test_a_port_of_the_node_addresses_is_one_services() -> None:
    claims = NodeAddressPorts()
    plan_node_address(claims, "default/a", lb("a", ports=(80, 443)), NODES)
    taken = plan_node_address(claims, "default/b", lb("b", ports=(443,)), NODES)
    assert taken.ingress == () and "port 443/TCP of the node addresses is Service default/a's" \
        in taken.refusal
    plan_node_address(claims, "default/a", None, NODES)  # deleted: its ports are free
    assert plan_node_address(claims, "default/b", lb("b", ports=(443,)), NODES) == Plan(NODES)


def test_the_nodes_own_ports_and_the_node_port_range_are_no_services() -> None:
    claims = NodeAddressPorts(reserved=[("UDP", 53), ("TCP", 10250)])
    own = plan_node_address(claims, "default/a", lb("a", ports=(10250,)), NODES)
    assert "port 10250/TCP of the node addresses is the node's own" in own.refusal
    node_port = plan_node_address(claims, "default/b", lb("b", ports=(30080,)), NODES)
    assert "NodePort range 30000-32767" in node_port.refusal


def test_a_load_balancer_ip_must_be_a_node_address_without_a_pool() -> None:
    claims = NodeAddressPorts()
    assert plan_node_address(claims, "default/a", lb("a", loadBalancerIP="10.200.0.12"),
                             NODES) == Plan(("10.200.0.12",))
    other = plan_node_address(claims, "default/b", lb("b", ports=(81,),
                                                      loadBalancerIP="10.9.9.9"), NODES)
    assert other.ingress == () and "not a node's address" in other.refusal and \
        "--lb-cidr" in other.refusal


def test_a_type_change_clears_the_node_addresses() -> None:
    claims = NodeAddressPorts()
    plan_node_address(claims, "default/a", lb("a"), NODES)
    now = lb("a", ingress=NODES)
    now["spec"]["type"] = "NodePort"
    assert plan_node_address(claims, "default/a", now, NODES) == Plan(())
    assert plan_node_address(claims, "default/b", lb("b"), NODES) == Plan(NODES)


def test_no_node_address_yet_is_said() -> None:
    plan = plan_node_address(NodeAddressPorts(), "default/a", lb("a"), ())
    assert plan.ingress is None and "no node has an address yet" in plan.refusal


def test_node_ips_are_the_internal_ips_of_nodes_that_run_pods() -> None:
    def node(ip: str, **labels: str) -> dict[str, Any]:
        return {"metadata": {"name": ip, "labels": labels},
                "status": {"addresses": [{"type": "InternalIP", "address": ip},
                                         {"type": "Hostname", "address": "h"}]}}
    nodes = [node("10.200.0.12"), node("10.200.0.9"),
             node("10.10.0.1", **{"minikube-py.dev/simulated": "true"})]
    assert node_ips(nodes) == ("10.200.0.9", "10.200.0.12")
