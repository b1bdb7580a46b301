"""Kubernetes API errors as values: every failure a client sees is a meta/v1 Status."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Cause:
    reason: str  # e.g. FieldValueRequired, FieldValueInvalid
    message: str
    field: str = ""

    def to_dict(self) -> dict[str, str]:
        d = {"reason": self.reason, "message": self.message}
        if self.field:
            d["field"] = self.field
        return d


@dataclass(slots=True)
class ApiError(Exception):
    """An error that the API reports to its caller as a Status with this code and reason."""

    code: int
    reason: str  # StatusReason: NotFound, AlreadyExists, Conflict, Invalid, BadRequest, Gone, ...
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    causes: list[Cause] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message

    def to_status(self) -> dict[str, Any]:
        # metav1.Status's field order, as kube writes it: details before code, and in
        # details the causes before retryAfterSeconds; an empty reason is left out.
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
        }
        if self.reason:
            status["reason"] = self.reason
        details = {k: v for k, v in self.details.items() if k != "retryAfterSeconds"}
        if self.causes:
            details["causes"] = [c.to_dict() for c in self.causes]
        if self.details.get("retryAfterSeconds"):
            details["retryAfterSeconds"] = self.details["retryAfterSeconds"]
        if details:
            status["details"] = details
        status["code"] = self.code
        return status

    @classmethod
    def from_status(cls, status: dict[str, Any]) -> ApiError:
        details = dict(status.get("details") or {})
        causes = [
            Cause(c.get("reason", ""), c.get("message", ""), c.get("field", ""))
            for c in details.pop("causes", []) or []
        ]
        return cls(
            code=int(status.get("code", 500)),
            reason=status.get("reason", "") or "",
            message=status.get("message", "") or "",
            details=details,
            causes=causes,
        )


def _details(resource: str, name: str, group: str = "") -> dict[str, Any]:
    d: dict[str, Any] = {"name": name, "kind": resource}
    if group:
        d["group"] = group
    return d


def qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def not_found(resource: str, name: str, group: str = "") -> ApiError:
    return ApiError(404, "NotFound", f'{qualified(resource, group)} "{name}" not found',
                    _details(resource, name, group))


def already_exists(resource: str, name: str, group: str = "") -> ApiError:
    return ApiError(409, "AlreadyExists", f'{qualified(resource, group)} "{name}" already exists',
                    _details(resource, name, group))


def conflict(resource: str, name: str, why: str, group: str = "") -> ApiError:
    return ApiError(
        409, "Conflict",
        f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": {why}',
        _details(resource, name, group),
    )


def invalid(kind: str, name: str, causes: list[Cause], group: str = "") -> ApiError:
    parts = [f"{c.field}: {c.message}" if c.field else c.message for c in causes]
    # kube-apiserver brackets the list only when there is more than one error
    summary = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    # The message names the qualified kind (GroupKind.String()); details keep them apart.
    return ApiError(422, "Invalid", f'{qualified(kind, group)} "{name}" is invalid: {summary}',
                    {"name": name, "kind": kind, **({"group": group} if group else {})}, causes)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def method_not_allowed(message: str) -> ApiError:
    return ApiError(405, "MethodNotAllowed", message)


def internal(message: str) -> ApiError:
    return ApiError(500, "InternalError", message)


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(415, "UnsupportedMediaType",
                    f'the body of the request was in an unknown format - accepted media types '
                    f'include: application/json, application/yaml (got "{content_type}")')


def too_many_requests(message: str, retry_after_seconds: int,
                      causes: list[Cause]) -> ApiError:
    """NewTooManyRequests: retryAfterSeconds only when there is a delay to suggest."""
    details = {"retryAfterSeconds": retry_after_seconds} if retry_after_seconds else {}
    return ApiError(429, "TooManyRequests", message, details, causes)


def service_unavailable(message: str) -> ApiError:
    return ApiError(503, "ServiceUnavailable", message)
