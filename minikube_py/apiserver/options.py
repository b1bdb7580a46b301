"""RequestOptions: the per-request knobs the HTTP layer passes into the API service."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class RequestOptions:
    """Per-request knobs the HTTP layer passes in; warnings come back out."""

    dry_run: bool = False
    field_validation: str = ""  # Strict, Warn, Ignore ("" = Ignore in-process)
    field_manager: str = ""
    warnings: list[str] = field(default_factory=list)
