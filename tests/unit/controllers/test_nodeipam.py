"""Pod CIDR allocation, table-driven."""

from __future__ import annotations

import pytest

from minikube_py.controllers.podcidrs import CidrsExhausted, PodCidrAllocator


def test_allocations_are_consecutive_and_skip_occupied() -> None:
    a = PodCidrAllocator("10.244.0.0/16", 24)
    assert a.occupy("10.244.1.0/24")
    assert [a.allocate(), a.allocate(), a.allocate()] == [
        "10.244.0.0/24", "10.244.2.0/24", "10.244.3.0/24"]


@pytest.mark.parametrize("cidr", ["10.245.0.0/24", "10.244.0.0/25", "fd00::/64", "junk"])
def test_foreign_cidrs_are_not_tracked(cidr: str) -> None:
    assert not PodCidrAllocator("10.244.0.0/16", 24).occupy(cidr)


def test_exhaustion_and_release() -> None:
    a = PodCidrAllocator("10.0.0.0/23", 24)
    first, second = a.allocate(), a.allocate()
    with pytest.raises(CidrsExhausted):
        a.allocate()
    a.release(first)
    assert a.allocate() == first
    assert second == "10.0.1.0/24"


def test_a_released_cidr_is_not_handed_out_again_at_once() -> None:
    a = PodCidrAllocator("10.244.0.0/16", 24)
    first = a.allocate()
    a.release(first)
    assert a.allocate() == "10.244.1.0/24"
