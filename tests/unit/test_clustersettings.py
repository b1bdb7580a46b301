"""serve's settings: every flag validated, remembered by the data dir, reused on a restart
without flags, and a change of a fixed one refused by the flag's name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from minikube_py.clustersettings import (
    LEGACY_NODE_FILE,
    NOTHING_REMEMBERED,
    SETTINGS,
    SETTINGS_FILE,
    ClusterSettings,
    FlagError,
    HostClaim,
    Remembered,
    SettingsFileError,
    fixed_conflict,
    load_remembered,
    resolve,
    save_remembered,
)

DEFAULTS = ClusterSettings(node_name="laptop")
CLAIM = HostClaim(owner="0123abcd", iptables_prefix="MKPY-0123", masquerade_mark=0x20000,
                  route_metric=0x6D700004)
SLOT = ClusterSettings(node_name="n1", bridge="mkpyt5", pod_cidr="10.244.205.0/24",
                       cluster_cidr="10.244.0.0/16", service_cidr="10.112.5.0/24",
                       api_host="127.0.0.1", api_port=16443, kubelet_port=0)


def remembered(settings: ClusterSettings = SLOT) -> Remembered:
    return Remembered({s.name: getattr(settings, s.name) for s in SETTINGS}, CLAIM,
                      Path("/data/cluster.json"))


def refused(given: dict[str, Any], known: Remembered = NOTHING_REMEMBERED) -> FlagError:
    with pytest.raises(FlagError) as e:
        resolve(given, known, DEFAULTS)
    return e.value


# --- validation of each flag ---------------------------------------------------------------

@pytest.mark.parametrize(("given", "flag", "says"), [
    ({"service_cidr": "10.112.32.0/30"}, "--service-cidr", "holds 4 addresses"),
    ({"service_cidr": "10.0.0.0/8"}, "--service-cidr", "/12"),
    ({"service_cidr": "10.112.0.1/24"}, "--service-cidr", "has host bits set"),
    ({"service_cidr": "nonsense"}, "--service-cidr", "does not appear"),
    ({"service_cidr": "fd00::/112"}, "--service-cidr", "not an IPv4 range"),
    ({"service_cidr": "10.244.8.0/24"}, "--service-cidr", "overlaps the cluster's pod range"),
    ({"pod_cidr": "10.244.0.0/33"}, "--pod-cidr", "does not appear"),
    ({"pod_cidr": "10.244.0.0/31"}, "--pod-cidr", "holds 2 addresses"),
    ({"pod_cidr": "10.50.0.0/24"}, "--pod-cidr", "outside the cluster's pod range"),
    ({"pod_cidr": "127.0.0.0/24"}, "--pod-cidr", "overlaps 127.0.0.0/8"),
    ({"pod_cidr": "169.254.1.0/24"}, "--pod-cidr", "169.254.0.0/16"),
    ({"cluster_cidr": "10.244.0.0/25", "pod_cidr": "10.244.0.0/26"}, "--cluster-cidr",
     "smaller than one node's range"),
    ({"cluster_cidr": "224.0.0.0/16"}, "--cluster-cidr", "224.0.0.0/4"),
    ({"bridge": ""}, "--bridge", "not a network interface name"),
    ({"bridge": "a-name-too-long0"}, "--bridge", "1-15"),
    ({"bridge": "br/0"}, "--bridge", "not a network interface name"),
    ({"node_name": "My_Laptop"}, "--node-name", "not a valid node name"),
    ({"node_name": "x" * 254}, "--node-name", "not a valid node name"),
    ({"api_port": 0}, "--api-port", "not a port"),
    ({"api_port": 65536}, "--api-port", "not a port"),
    ({"kubelet_port": -1}, "--kubelet-port", "not a port"),
    ({"api_host": "not a host"}, "--api-host", "not an IP address or a host name"),
    ({"api_host": "0.0.0.0", "kubelet_port": 6443}, "--kubelet-port", "the API's port"),
])
def test_an_invalid_flag_is_refused_by_its_name(given: dict[str, Any], flag: str,
                                                says: str) -> None:
    error = refused(given)
    assert error.flag == flag
    assert flag in str(error) and says in str(error)
    assert "\n" not in str(error)


@pytest.mark.parametrize(("given", "field", "normal"), [
    ({"service_cidr": "10.112.32.0/28"}, "service_cidr", "10.112.32.0/28"),
    ({"service_cidr": "10.96.0.0/12"}, "service_cidr", "10.96.0.0/12"),
    ({"pod_cidr": "10.244.9.0/30"}, "pod_cidr", "10.244.9.0/30"),
    ({"cluster_cidr": "10.248.0.0/16", "pod_cidr": "10.248.3.0/24"}, "cluster_cidr",
     "10.248.0.0/16"),
    ({"bridge": "mkpy_t.0-a"}, "bridge", "mkpy_t.0-a"),
    ({"node_name": "node-1.example"}, "node_name", "node-1.example"),
    ({"api_host": "0.0.0.0"}, "api_host", "0.0.0.0"),
    ({"api_host": "localhost"}, "api_host", "localhost"),
    ({"api_host": "::1"}, "api_host", "::1"),
    ({"kubelet_port": 0}, "kubelet_port", 0),
    ({"api_host": "127.0.0.1", "kubelet_port": 6443}, "kubelet_port", 6443),
])
def test_a_valid_flag_is_taken(given: dict[str, Any], field: str, normal: Any) -> None:
    assert getattr(resolve(given, NOTHING_REMEMBERED, DEFAULTS), field) == normal


def test_an_invalid_default_node_name_asks_for_the_flag() -> None:
    # The default is the host name, which need not be a valid node name.
    with pytest.raises(FlagError, match=r"the default; give --node-name") as e:
        resolve({}, NOTHING_REMEMBERED, ClusterSettings(node_name="My_Host"))
    assert e.value.flag == "--node-name"


# --- remembering ---------------------------------------------------------------------------

def test_no_flags_and_nothing_remembered_is_the_defaults() -> None:
    assert resolve({}, NOTHING_REMEMBERED, DEFAULTS) == DEFAULTS


def test_a_restart_without_flags_reuses_every_remembered_setting() -> None:
    assert resolve({}, remembered(), DEFAULTS) == SLOT


def test_a_restart_with_the_remembered_values_is_accepted() -> None:
    given = {s.name: getattr(SLOT, s.name) for s in SETTINGS}
    assert resolve(given, remembered(), DEFAULTS) == SLOT


def test_a_remembered_range_matches_the_same_range_written_otherwise() -> None:
    settings = resolve({"service_cidr": "10.112.5.0/255.255.255.0"}, remembered(), DEFAULTS)
    assert settings.service_cidr == "10.112.5.0/24"


@pytest.mark.parametrize(("field", "flag", "value"), [
    ("node_name", "--node-name", "other"),
    ("bridge", "--bridge", "mkpyt6"),
    ("pod_cidr", "--pod-cidr", "10.244.206.0/24"),
    ("cluster_cidr", "--cluster-cidr", "10.240.0.0/12"),
    ("service_cidr", "--service-cidr", "10.112.6.0/24"),
])
def test_a_fixed_setting_given_another_value_is_refused_by_its_flag(
        field: str, flag: str, value: str) -> None:
    error = refused({field: value}, remembered())
    assert error.flag == flag
    assert str(error).startswith(f"{flag} {value} conflicts with this cluster's")
    assert str(getattr(SLOT, field)) in str(error) and "/data/cluster.json" in str(error)


@pytest.mark.parametrize(("field", "value"), [
    ("api_port", 16444), ("api_host", "0.0.0.0"), ("kubelet_port", 10250)])
def test_an_endpoint_flag_replaces_the_remembered_value(field: str, value: Any) -> None:
    settings = resolve({field: value}, remembered(), DEFAULTS)
    assert getattr(settings, field) == value
    assert settings.bridge == SLOT.bridge and settings.service_cidr == SLOT.service_cidr


def test_a_legacy_node_file_fixes_what_it_knows_and_leaves_the_rest_to_flags() -> None:
    legacy = Remembered({"bridge": "mkpyt5", "pod_cidr": "10.244.205.0/24",
                         "service_cidr": "10.112.5.0/24"}, None, Path("/d/node.json"))
    settings = resolve({"node_name": "n9"}, legacy, DEFAULTS)
    assert (settings.bridge, settings.node_name, settings.cluster_cidr) == (
        "mkpyt5", "n9", "10.244.0.0/16")
    assert refused({"bridge": "mkpy0"}, legacy).flag == "--bridge"
    assert legacy.legacy and not remembered().legacy


def test_fixed_conflict_names_the_first_fixed_setting_that_differs() -> None:
    assert fixed_conflict(SLOT, remembered()) is None
    moved = ClusterSettings(**{**{s.name: getattr(SLOT, s.name) for s in SETTINGS},
                               "pod_cidr": "10.244.99.0/24", "api_port": 1})
    conflict = fixed_conflict(moved, remembered())
    assert conflict is not None and conflict.flag == "--pod-cidr"


# --- the file ------------------------------------------------------------------------------

def test_saved_settings_load_back_with_their_claim(tmp_path: Path) -> None:
    save_remembered(tmp_path, SLOT, CLAIM)
    loaded = load_remembered(tmp_path)
    assert resolve({}, loaded, DEFAULTS) == SLOT
    assert loaded.claim == CLAIM and loaded.source == tmp_path / SETTINGS_FILE
    assert json.loads((tmp_path / SETTINGS_FILE).read_text())["host"]["masqueradeMark"] == \
        "0x20000"


def test_saving_replaces_a_legacy_node_file(tmp_path: Path) -> None:
    (tmp_path / LEGACY_NODE_FILE).write_text('{"bridge": "mkpyt5"}')
    save_remembered(tmp_path, SLOT, CLAIM)
    assert not (tmp_path / LEGACY_NODE_FILE).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [SETTINGS_FILE]


def test_a_legacy_node_file_is_read_as_remembered_settings(tmp_path: Path) -> None:
    (tmp_path / LEGACY_NODE_FILE).write_text(json.dumps(
        {"bridge": "mkpyt5", "podCIDR": "10.244.205.0/24", "serviceCIDR": "10.112.5.0/24"}))
    loaded = load_remembered(tmp_path)
    assert loaded.legacy and loaded.claim is None
    assert dict(loaded.settings) == {"bridge": "mkpyt5", "pod_cidr": "10.244.205.0/24",
                                     "service_cidr": "10.112.5.0/24"}


def test_an_empty_data_dir_remembers_nothing(tmp_path: Path) -> None:
    assert load_remembered(tmp_path) == NOTHING_REMEMBERED
    assert load_remembered(tmp_path / "missing") == NOTHING_REMEMBERED


@pytest.mark.parametrize("text", [
    "{not json", "[]", '{"version": 2}', '{"version": 1, "settings": {}, "host": {}}',
    '{"version": 1, "settings": [], "host": {}}'])
def test_an_unreadable_settings_file_is_an_error_naming_it(tmp_path: Path, text: str) -> None:
    (tmp_path / SETTINGS_FILE).write_text(text)
    with pytest.raises(SettingsFileError, match=SETTINGS_FILE):
        load_remembered(tmp_path)


def test_a_settings_file_with_an_invalid_value_is_an_error(tmp_path: Path) -> None:
    save_remembered(tmp_path, SLOT, CLAIM)
    doc = json.loads((tmp_path / SETTINGS_FILE).read_text())
    doc["settings"]["serviceCIDR"] = "10.112.5.0/30"
    (tmp_path / SETTINGS_FILE).write_text(json.dumps(doc))
    with pytest.raises(SettingsFileError, match="--service-cidr"):
        load_remembered(tmp_path)


# --- the load-balancer pool (--lb-cidr) ------------------------------------------------------

@pytest.mark.parametrize(("lb_cidr", "says"), [
    ("10.0.0.0/15", "a load-balancer range is /32 to /16"),
    ("10.96.1.0/28", "overlaps 10.96.0.0/12 (--service-cidr)"),
    ("10.244.7.0/28", "overlaps 10.244.0.0/16 (--cluster-cidr)"),
    ("fd00::/120", "not an IPv4 range"),
])
def test_a_load_balancer_range_is_ipv4_not_too_big_and_apart_from_pods_and_services(
        lb_cidr: str, says: str) -> None:
    e = refused({"lb_cidr": lb_cidr})
    assert e.flag == "--lb-cidr" and says in str(e)


def test_no_load_balancer_range_by_default_and_one_may_be_added_later() -> None:
    assert resolve({}, NOTHING_REMEMBERED, DEFAULTS).lb_cidr == ""
    off = remembered(SLOT)
    assert resolve({"lb_cidr": "10.113.5.0/28"}, off, DEFAULTS).lb_cidr == "10.113.5.0/28"


def test_a_remembered_load_balancer_range_is_fixed() -> None:
    on = remembered(ClusterSettings(**{**{s.name: getattr(SLOT, s.name) for s in SETTINGS},
                                       "lb_cidr": "10.113.5.0/28"}))
    assert resolve({}, on, DEFAULTS).lb_cidr == "10.113.5.0/28"
    assert refused({"lb_cidr": "10.113.6.0/28"}, on).flag == "--lb-cidr"


def test_a_node_address_may_not_be_a_load_balancer_address() -> None:
    e = refused({"lb_cidr": "10.113.5.0/28", "node_ip": "10.113.5.3"})
    assert e.flag == "--node-ip" and "(--lb-cidr)" in str(e)
