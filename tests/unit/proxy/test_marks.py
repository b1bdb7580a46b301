"""Each cluster masquerades with a mark bit of its own, found free in the host's rules, so
that one cluster's POSTROUTING chain never clears the mark another one set."""

from __future__ import annotations

import pytest

from minikube_py.proxy.rules import (
    MASQUERADE_MARK_BITS,
    ProxyNode,
    ProxySettings,
    build_ruleset,
    choose_masquerade_mark,
    mark_bits_of_chains,
    prefix_for_owner,
    saved_chains,
)

# As `iptables-save -t nat` prints two clusters' mark rules (and one of another program).
SAVED = """*nat
:PREROUTING ACCEPT [0:0]
:MKPY-aaaa-MARK-MASQ - [0:0]
:MKPY-aaaa-POSTROUTING - [0:0]
:MKPY-bbbb-MARK-MASQ - [0:0]
:OTHER - [0:0]
-A MKPY-aaaa-MARK-MASQ -j MARK --set-xmark 0x10000/0x10000
-A MKPY-aaaa-POSTROUTING -m mark ! --mark 0x10000/0x10000 -j RETURN
-A MKPY-aaaa-POSTROUTING -j MARK --set-xmark 0x10000/0x0
-A MKPY-bbbb-MARK-MASQ -j MARK --set-xmark 0x20000/0x20000
-A OTHER -m mark --mark 0x1 -j ACCEPT
-A OTHER -j RETURN
COMMIT
"""


def test_saved_chains_are_the_declared_ones() -> None:
    assert saved_chains(SAVED) == ["PREROUTING", "MKPY-aaaa-MARK-MASQ",
                                   "MKPY-aaaa-POSTROUTING", "MKPY-bbbb-MARK-MASQ", "OTHER"]


def test_each_chain_reports_every_mark_bit_its_rules_touch() -> None:
    assert mark_bits_of_chains(SAVED) == {"MKPY-aaaa-MARK-MASQ": 0x10000,
                                          "MKPY-aaaa-POSTROUTING": 0x10000,
                                          "MKPY-bbbb-MARK-MASQ": 0x20000, "OTHER": 0x1}


@pytest.mark.parametrize(("taken", "preferred", "chosen"), [
    (0, None, 0x10000),
    (0x10000, None, 0x20000),
    (0x30000, None, 0x40000),
    (0, 0x80000, 0x80000),
    (0x80000, 0x80000, 0x10000),
    (0, 0x4000, 0x10000),  # kube-proxy's bit is never ours, even when remembered
    (sum(MASQUERADE_MARK_BITS), None, None),
])
def test_the_mark_is_the_preferred_bit_while_free_else_the_lowest_free_one(
        taken: int, preferred: int | None, chosen: int | None) -> None:
    assert choose_masquerade_mark(taken, preferred) == chosen


def test_no_cluster_takes_kube_proxys_mark_bits() -> None:
    assert not any(bit & 0xC000 for bit in MASQUERADE_MARK_BITS)
    assert all(bin(bit).count("1") == 1 for bit in MASQUERADE_MARK_BITS)


def test_the_chain_prefix_is_the_owner_ids_first_four_digits() -> None:
    assert prefix_for_owner("0a1b2c3d") == "MKPY-0a1b"


def test_postrouting_tests_and_clears_only_the_clusters_own_bit() -> None:
    settings = ProxySettings(prefix="MKPY-aaaa", masquerade_mark="0x20000")
    nat = build_ruleset([], [], ProxyNode("n", ("10.244.0.1",)), settings).tables["nat"]
    assert nat["MKPY-aaaa-MARK-MASQ"] == ("-j MARK --or-mark 0x20000",)
    assert nat["MKPY-aaaa-POSTROUTING"][:2] == ("-m mark ! --mark 0x20000/0x20000 -j RETURN",
                                                "-j MARK --xor-mark 0x20000")
