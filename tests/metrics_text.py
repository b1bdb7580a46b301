"""Reading a /metrics answer in tests: samples by name and labels, parsed by
prometheus-client's own parser (so what a test reads is what Prometheus would)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


class Scrape:
    def __init__(self, text: str) -> None:
        self.text = text
        self.samples: list[tuple[str, dict[str, str], float]] = [
            (s.name, s.labels, s.value)
            for family in text_string_to_metric_families(text) for s in family.samples]

    def value(self, metric: str, /, **labels: str) -> float:
        """The sum of `metric`'s samples whose labels include `labels` (0 if none)."""
        return sum(v for n, ls, v in self.samples
                   if n == metric and all(ls.get(k) == want for k, want in labels.items()))

    def has(self, metric: str, /, **labels: str) -> bool:
        return any(n == metric and all(ls.get(k) == want for k, want in labels.items())
                   for n, ls, _ in self.samples)
