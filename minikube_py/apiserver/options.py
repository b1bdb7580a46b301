"""RequestOptions: the per-request knobs the HTTP layer passes into the API service."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from minikube_py.apiserver.authn import UserInfo


@dataclass(slots=True)
class RequestOptions:
    """Per-request knobs the HTTP layer passes in; warnings and audit annotations come
    back out."""

    dry_run: bool = False
    field_validation: str = ""  # Strict, Warn, Ignore ("" = Ignore in-process)
    field_manager: str = ""
    # The request's User-Agent: it names the field manager of a write without fieldManager.
    user_agent: str = ""
    force: bool = False  # apply: take fields other managers own (?force=true)
    warnings: list[str] = field(default_factory=list)
    # Who asks (admission plugins such as NodeRestriction look); None: the server itself.
    user: UserInfo | None = None
    # What admission records for the request's audit event (kube's AddAuditAnnotations),
    # e.g. pod-security.kubernetes.io/enforce-policy.
    audit_annotations: dict[str, str] = field(default_factory=dict)
