"""A data dir remembers its cluster's network and owns what it creates on the host: a restart
without flags reuses it, a conflicting flag is refused and touches nothing, and traffic to a
cluster's ranges fails on this machine while its bridge is gone (test_network_delete.py:
what `delete` leaves of another cluster's).

Every address used here belongs to a cluster these tests start; the tests that find a range
unreachable assert it with `ip route get` before any connect()."""

from __future__ import annotations

import errno
import json
import socket
from pathlib import Path

import pytest

from tests.e2e.cluster import NEEDS_CONTAINERD, running_serve
from tests.e2e.network import (
    files,
    host_network,
    minikube,
    owned,
    remembered,
    route_get,
    sh,
    uplink,
)

pytestmark = NEEDS_CONTAINERD


# --- restarts ------------------------------------------------------------------------------

def test_a_restart_without_flags_runs_on_the_remembered_settings(tmp_path: Path) -> None:
    with running_serve(tmp_path / "data", 14) as serve:
        before = remembered(serve)
        assert before["settings"]["bridge"] == "mkpyt14"
        assert serve.stop() == 0

        serve.start(flags=False)
        assert f"API server listening on https://127.0.0.1:{serve.api_port}" in serve.log
        node = serve.kubectl_json("get", "node", serve.node_name())
        addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
        assert addresses["InternalIP"] == "10.244.214.1"
        kubernetes = serve.kubectl_json("get", "service", "kubernetes")
        assert kubernetes["spec"]["clusterIP"] == "10.112.14.1"
        assert remembered(serve) == before
        assert owned(serve)["bridge alias"].startswith(
            f"minikube-py owner={before['host']['owner']} ")


def test_a_restart_with_a_conflicting_flag_is_refused_and_touches_nothing(
        tmp_path: Path) -> None:
    with running_serve(tmp_path / "data", 15) as serve:
        assert serve.stop() == 0
        host, data = host_network(), files(serve.data_dir)

        result = minikube("serve", "--data-dir", str(serve.data_dir), "--service-cidr",
                          "10.112.115.0/24")
        assert result.returncode == 2
        assert result.stderr.startswith("Error: --service-cidr 10.112.115.0/24 conflicts with "
                                         "this cluster's service range 10.112.15.0/24")
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert host_network() == host
        assert files(serve.data_dir) == data

        serve.start(flags=False)  # and the cluster still starts as it was
        assert serve.kubectl_json("get", "service", "kubernetes")["spec"]["clusterIP"] == \
            "10.112.15.1"


# --- without its bridge ---------------------------------------------------------------------

def test_without_its_bridge_a_clusters_ranges_are_unreachable_never_via_the_uplink(
        tmp_path: Path) -> None:
    with running_serve(tmp_path / "data", 17) as serve:
        assert route_get("10.112.17.1").stdout.split()[:3] == ["10.112.17.1", "dev", "mkpyt17"]
        assert serve.stop() == 0
        assert sh("ip", "link", "del", serve.bridge).returncode == 0

        for address, port in (("10.112.17.1", 443), ("10.244.217.5", 80), ("10.244.9.9", 80)):
            route = route_get(address)
            assert route.returncode != 0 and "No route to host" in route.stderr, route
            assert uplink() not in route.stdout
            # Only now that the route is known to be local: the kernel refuses at once.
            with socket.socket() as s, pytest.raises(OSError) as refused:
                s.settimeout(5)
                s.connect((address, port))
            assert refused.value.errno == errno.EHOSTUNREACH

        serve.start()  # the bridge and its route come back
        assert route_get("10.112.17.1").stdout.split()[:3] == ["10.112.17.1", "dev", "mkpyt17"]
        metric = remembered(serve)["host"]["routeMetric"]
    left = json.loads(sh("ip", "-j", "route", "show", "table", "main", "proto", "167").stdout)
    assert [r for r in left if r["metric"] // 4 == metric // 4] == []  # delete took them
