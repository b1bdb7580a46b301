"""The bounded cache of answers that hold until a time (remembered tokens and decisions)."""

from __future__ import annotations

from minikube_py.api.expiring import ExpiringCache


def test_an_answer_holds_until_its_time_and_not_at_it() -> None:
    cache: ExpiringCache[str, bool] = ExpiringCache()
    cache.put("k", True, until=10.0)
    assert cache.get("k", 9.9) is True
    assert cache.get("k", 10.0) is None
    assert cache.get("other", 0.0) is None


def test_a_full_cache_starts_over() -> None:
    cache: ExpiringCache[int, int] = ExpiringCache(limit=2)
    cache.put(1, 1, until=10.0)
    cache.put(2, 2, until=10.0)
    cache.put(3, 3, until=10.0)
    assert (cache.get(1, 0.0), cache.get(2, 0.0), cache.get(3, 0.0)) == (None, None, 3)
