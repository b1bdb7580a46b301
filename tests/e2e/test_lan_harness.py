"""The multi-node scenarios' LAN (tests/e2e/lan.py) on its own, no cluster: its machines
reach each other and the host, commands run in a machine keep the host's cgroup mounts
(nsenter, not `ip netns exec`), teardown leaves nothing, and what a killed run left behind
is released before the next run of the same slot."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tests.e2e.lan import (
    Lan,
    lan_up,
    link_names,
    machine_network,
    netns_names,
    ping_command,
    popen_in,
    run_in,
    sh,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.geteuid() != 0, reason="makes network namespaces: needs root"),
    pytest.mark.skipif(shutil.which("nsenter") is None, reason="no nsenter"),
]

SLOT = 61
SUBNET = "10.200.61.0/24"  # not the multi-node scenarios' 10.200.0.0/24: never in each other's way


@pytest.fixture
def lan() -> Iterator[Lan]:
    with lan_up(SLOT, 2, SUBNET) as made:
        yield made


def test_machines_get_the_lan_addresses_after_the_host(lan: Lan) -> None:
    assert lan.host_ip == "10.200.61.1"
    assert [(m.name, m.ip) for m in lan] == [("mkpylan61-n2", "10.200.61.11"),
                                             ("mkpylan61-n3", "10.200.61.12")]
    for m in lan:
        assert f"inet {m.ip}/24" in run_in(m.name, "ip", "-4", "-o", "addr", "show",
                                           "dev", "eth0").stdout


def test_machines_reach_each_other_and_the_host(lan: Lan) -> None:
    for m in lan:
        for target in [lan.host_ip, *(other.ip for other in lan)]:
            result = run_in(m.name, *ping_command(target), check=False)
            assert result.returncode == 0, f"{m.name} -> {target}: {result.stdout}{result.stderr}"
        assert sh(*ping_command(m.ip), check=False).returncode == 0, f"host -> {m.ip}"


def test_a_machine_has_no_route_off_the_lan(lan: Lan) -> None:
    (m, _) = lan.machines
    routes = machine_network(m.name)["routes"]
    assert len(routes) == 1 and routes[0].startswith("10.200.61.0/24 dev eth0"), routes
    assert run_in(m.name, "ip", "route", "get", "10.96.0.1", check=False).returncode != 0


def test_a_command_in_a_machine_changes_only_its_network_namespace(lan: Lan) -> None:
    """The host's mounts (the cgroup mounts runc needs) stay, which `ip netns exec`, by
    remounting /sys in a mount namespace of its own, takes away."""
    (m, _) = lan.machines
    inside = run_in(m.name, "readlink", "/proc/self/ns/mnt", "/proc/self/ns/net").stdout.split()
    host = sh("readlink", "/proc/self/ns/mnt", "/proc/self/ns/net").stdout.split()
    assert inside[0] == host[0] and inside[1] != host[1]
    assert " /sys/fs/cgroup" in run_in(m.name, "cat", "/proc/self/mountinfo").stdout


def test_an_empty_machine_has_only_its_lan_link_and_builtin_chains(lan: Lan) -> None:
    (m, _) = lan.machines
    net = machine_network(m.name)
    assert net["links"] == ["eth0", "lo"] and net["iptables"] == []


def test_teardown_leaves_no_namespace_link_or_route() -> None:
    with lan_up(SLOT, 2, SUBNET) as lan:
        made = lan.leftovers()
        names = [m.name for m in lan]
    assert {f for f in made if not f.startswith("route ")} == {
        "netns mkpylan61-n2", "netns mkpylan61-n3", "link mkpylan61", "link mkpylan61v2",
        "link mkpylan61v3"}
    assert any(f.startswith("route 10.200.61.0/24 dev mkpylan61 ") for f in made)
    assert lan.leftovers() == []
    assert not set(names) & set(netns_names())
    assert not [n for n in link_names() if n.startswith(lan.bridge)]
    assert lan.bridge not in sh("ip", "-4", "route", "show", "table", "all").stdout
    assert "10.200.61." not in sh("ip", "-4", "addr", "show").stdout


def test_what_a_killed_run_left_is_released_before_the_next_starts() -> None:
    killed = Lan(SLOT, 2, SUBNET)
    killed.up()  # and never taken down, as when pytest is killed
    (m, _) = killed.machines
    orphan = popen_in(m.name, "sleep", "600", stdout=subprocess.DEVNULL)
    try:
        with lan_up(SLOT, 1, SUBNET) as again:
            assert orphan.wait(30) is not None  # what ran in the old machine is ended
            assert [x.name for x in again] == ["mkpylan61-n2"]
            assert "mkpylan61-n3" not in netns_names()
            assert run_in("mkpylan61-n2", *ping_command(again.host_ip),
                          check=False).returncode == 0
        assert again.leftovers() == []
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait()
        killed.down()


def test_a_lan_refuses_a_subnet_another_interface_holds() -> None:
    with lan_up(SLOT, 0, SUBNET):
        other = Lan(SLOT + 1, 1, SUBNET)
        with pytest.raises(AssertionError, match="mkpylan61 already has an address in"):
            other.up()
        assert other.leftovers() == []
