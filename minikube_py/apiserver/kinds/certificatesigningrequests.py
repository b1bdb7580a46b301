"""CertificateSigningRequests (certificates.k8s.io/v1): cluster-scoped; the requester's
identity is the server's to write (never the body's); `approval` adds Approved/Denied
conditions and `status` the signer's certificate and Failed condition (kube's
pkg/registry/certificates/certificates/strategy.go and pkg/apis/certificates/validation)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from minikube_py.api.errors import Cause
from minikube_py.api.resources import CERTIFICATESIGNINGREQUESTS
from minikube_py.api.validation import (
    dns1123_label_errors,
    dns1123_subdomain_errors,
    duplicate,
    forbidden,
    invalid_value,
    not_supported,
    required,
)
from minikube_py.apiserver.authn import LOOPBACK
from minikube_py.apiserver.kinds.base import (
    Obj,
    Printer,
    Strategy,
    field_at,
    field_text,
    keep_old_status,
)
from minikube_py.apiserver.options import RequestOptions
from minikube_py.apiserver.tables_format import (
    AGE_DESC,
    NAME_DESC,
    Row,
    column,
    human_duration,
    since,
)
from minikube_py.pki.csr import (
    MIN_EXPIRATION_SECONDS,
    VALID_USAGES,
    certificate_error,
    decode_bytes,
    parse_request,
)

__all__ = ["CERTIFICATESIGNINGREQUESTS", "STRATEGY"]

APPROVED, DENIED, FAILED = "Approved", "Denied", "Failed"
_TRUE_ONLY = (APPROVED, DENIED, FAILED)
_STATUSES = ("False", "True", "Unknown")
LEGACY_UNKNOWN = "kubernetes.io/legacy-unknown"
_REQUESTER_FIELDS = ("username", "uid", "groups", "extra")

CSR_COLUMNS = [
    column("Name", NAME_DESC, fmt="name"),
    column("Age", AGE_DESC),
    column("SignerName", "signerName indicates the requested signer, and is a qualified "
                         "name."),
    column("Requestor", "username contains the name of the user that created the "
                        "CertificateSigningRequest. Populated by the API server on creation "
                        "and immutable."),
    column("RequestedDuration", "expirationSeconds is the requested duration of validity "
                                "of the issued certificate."),
    column("Condition", "conditions applied to the request. Known conditions are "
                        "\"Approved\", \"Denied\", and \"Failed\"."),
]


def csr_condition(obj: Obj) -> str:
    """kubectl's CONDITION: Denied over Approved over Pending, then Failed and Issued."""
    status = obj.get("status") or {}
    types = {c.get("type") for c in status.get("conditions") or [] if isinstance(c, dict)}
    text = DENIED if DENIED in types else APPROVED if APPROVED in types else "Pending"
    if FAILED in types:
        text += ",Failed"
    if status.get("certificate"):
        text += ",Issued"
    return text


def csr_row(obj: Obj, now: float) -> Row:
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    seconds = spec.get("expirationSeconds")
    return [meta.get("name", ""), since(meta.get("creationTimestamp"), now),
            spec.get("signerName") or "<none>", spec.get("username") or "",
            human_duration(seconds) if isinstance(seconds, int) else "<none>",
            csr_condition(obj)]


def any_name(name: str) -> list[str]:
    """kube's ValidateCertificateRequestName: "We don't care what you call your certificate
    requests" (ObjectMeta still requires one)."""
    return []


def _csr_fields(o: Mapping[str, Any]) -> dict[str, str]:
    return {"spec.signerName": field_text(field_at(o, "spec", "signerName"))}


def signer_name_errors(field: str, name: Any) -> list[Cause]:
    """core validation's ValidateSignerName: `example.com/signer-name`."""
    if not name:
        return [required(field)]
    if not isinstance(name, str) or name.count("/") != 1:
        return [invalid_value(field, name, "must be a fully qualified domain and path of the "
                                           "form 'example.com/signer-name'")]
    domain, path = name.split("/")
    causes: list[Cause] = []
    labels = domain.split(".")
    for label in labels:
        errs = dns1123_label_errors(label)
        if errs:
            causes += [invalid_value(field, domain, f"validating label {label!r}: {e}")
                       for e in errs]
            break
    if len(labels) < 2:
        causes.append(invalid_value(field, domain, "should be a domain with at least two "
                                                   "segments separated by dots"))
    causes += [invalid_value(field, path, f"validating path {path!r}: {e}")
               for e in dns1123_subdomain_errors(path)]
    return causes


def _conditions(obj: Obj) -> list[Obj]:
    found = (obj.get("status") or {}).get("conditions")
    return [c for c in found if isinstance(c, dict)] if isinstance(found, list) else []


def _of_type(obj: Obj, kind: str) -> list[Obj]:
    return [c for c in _conditions(obj) if c.get("type") == kind]


def _conditions_causes(obj: Obj, old: Obj | None) -> list[Cause]:
    old_types = [c.get("type") for c in _conditions(old)] if old is not None else []
    tolerate_both = APPROVED in old_types and DENIED in old_types
    tolerate_dupes = len(old_types) != len(set(old_types))
    causes: list[Cause] = []
    seen: set[Any] = set()
    for i, c in enumerate(_conditions(obj)):
        at = f"status.conditions[{i}]"
        kind, status = c.get("type"), c.get("status")
        if not kind:
            causes.append(required(f"{at}.type"))
        allowed = ("True",) if kind in _TRUE_ONLY else _STATUSES
        if not status:
            causes.append(required(f"{at}.status"))
        elif status not in allowed:
            causes.append(not_supported(f"{at}.status", status, allowed))
        if not tolerate_both and kind in (APPROVED, DENIED) and \
                ({APPROVED, DENIED} - {kind}) & seen:
            causes.append(invalid_value(f"{at}.type", kind, "Approved and Denied conditions "
                                                           "are mutually exclusive"))
        if not tolerate_dupes and kind in seen:
            causes.append(duplicate(f"{at}.type", kind))
        seen.add(kind)
    return causes


def validate_csr(obj: Obj, old: Obj | None = None) -> list[Cause]:
    """kube's validateCertificateSigningRequest (old: the stored object, on an update)."""
    spec = obj.get("spec") or {}
    causes: list[Cause] = []
    try:
        parse_request(decode_bytes(spec.get("request")))
    except ValueError as e:
        causes.append(invalid_value("spec.request", spec.get("request", ""), str(e)))
    found = spec.get("usages")
    usages: list[Any] = found if isinstance(found, list) else []
    old_usages = ((old or {}).get("spec") or {}).get("usages") or []
    if not usages:
        causes.append(required("spec.usages"))
    if not any(u not in VALID_USAGES for u in old_usages):
        causes += [not_supported(f"spec.usages[{i}]", u, VALID_USAGES)
                   for i, u in enumerate(usages) if u not in VALID_USAGES]
    if len(set(old_usages)) == len(old_usages):
        causes += [duplicate(f"spec.usages[{i}]", u) for i, u in enumerate(usages)
                   if u in usages[:i]]
    signer = spec.get("signerName")
    if signer == LEGACY_UNKNOWN and ((old or {}).get("spec") or {}).get("signerName") != signer:
        causes.append(invalid_value("spec.signerName", signer, "the legacy signerName is not "
                                                               "allowed via this API version"))
    elif signer != LEGACY_UNKNOWN:
        causes += signer_name_errors("spec.signerName", signer)
    seconds = spec.get("expirationSeconds")
    if isinstance(seconds, int) and seconds < MIN_EXPIRATION_SECONDS:
        causes.append(invalid_value("spec.expirationSeconds", seconds,
                                    "may not specify a duration less than 600 seconds "
                                    "(10 minutes)"))
    causes += _conditions_causes(obj, old)
    certificate = (obj.get("status") or {}).get("certificate")
    old_certificate = ((old or {}).get("status") or {}).get("certificate")
    if certificate and certificate != old_certificate:
        try:
            why = certificate_error(decode_bytes(certificate))
        except ValueError as e:
            why = str(e)
        if why is not None:
            causes.append(invalid_value("status.certificate", "<certificate data>", why))
    return causes


def _update_causes(new: Obj, old: Obj) -> list[Cause]:
    """What no update may do: remove an Approved/Denied/Failed condition, or replace a
    certificate once issued."""
    causes = validate_csr(new, old)
    for kind in _TRUE_ONLY:
        if len(_of_type(new, kind)) < len(_of_type(old, kind)):
            causes.append(forbidden("status.conditions",
                                    f"updates may not remove a condition of type \"{kind}\""))
    cert, old_cert = ((new.get("status") or {}).get("certificate"),
                      (old.get("status") or {}).get("certificate"))
    if old_cert and cert != old_cert:
        causes.append(forbidden("status.certificate",
                                "updates may not modify existing certificate content"))
    return causes


def _stamp(conditions: list[Obj], old: Obj) -> None:
    """kube's populateConditionTimestamps, with the client's lastUpdateTime as the clock: a
    condition keeps the transition time of the stored one of the same type and status."""
    for c in conditions:
        if not c.get("lastTransitionTime"):
            same = next((o for o in _conditions(old) if o.get("type") == c.get("type") and
                         o.get("status") == c.get("status")), None)
            stamp = (same or {}).get("lastTransitionTime") or c.get("lastUpdateTime")
            if stamp:
                c["lastTransitionTime"] = stamp


class CertificateSigningRequestStrategy(Strategy):
    printer = Printer(CSR_COLUMNS, csr_row)
    schema = "certificates.CertificateSigningRequest"
    field_labels = staticmethod(_csr_fields)
    name_errors = staticmethod(any_name)

    def default(self, obj: Obj) -> None:
        obj.setdefault("spec", {})

    def prepare_for_create(self, obj: Obj) -> None:
        """No pre-approved requests, and no requester but the one who sent it."""
        obj["status"] = {}
        for f in _REQUESTER_FIELDS:
            obj["spec"].pop(f, None)

    async def before_create(self, obj: Obj, opts: RequestOptions) -> None:
        user = opts.user if opts.user is not None else LOOPBACK
        spec = obj["spec"]
        spec["username"] = user.name
        if user.uid:
            spec["uid"] = user.uid
        if user.groups:
            spec["groups"] = list(user.groups)
        if user.extra:
            spec["extra"] = {k: list(v) for k, v in user.extra.items()}

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_csr(obj)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        """The main resource changes metadata only: spec and status stay as stored."""
        new["spec"] = copy.deepcopy(old.get("spec") or {})
        keep_old_status(new, old)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return _update_causes(new, old)

    def prepare_for_subresource_update(self, subresource: str, body: Obj, old: Obj) -> Obj:
        if subresource not in ("approval", "status"):
            return super().prepare_for_subresource_update(subresource, body, old)
        new = copy.deepcopy(old)
        status = body.get("status")
        if not isinstance(status, dict):
            return new  # nothing sent: the stored status stays
        stored = copy.deepcopy(old.get("status") or {})
        conditions = [copy.deepcopy(c) for c in status.get("conditions") or []
                      if isinstance(c, dict)]
        if subresource == "approval":
            # Approved/Denied come from the body; the certificate and the signer's Failed
            # conditions stay as stored.
            conditions = [c for c in conditions if c.get("type") != FAILED] + \
                _of_type(old, FAILED)
            new_status = {**stored, "conditions": conditions}
        else:
            # The signer's path: Approved/Denied stay as stored whatever the body says.
            kept = [c for c in conditions if c.get("type") not in (APPROVED, DENIED)]
            new_status = {**status,
                          "conditions": _of_type(old, APPROVED) + _of_type(old, DENIED) + kept}
        if not new_status.get("conditions"):
            new_status.pop("conditions", None)
        _stamp(new_status.get("conditions") or [], old)
        new["status"] = new_status
        new["metadata"] = dict(old["metadata"])
        return new


STRATEGY = CertificateSigningRequestStrategy(CERTIFICATESIGNINGREQUESTS)
