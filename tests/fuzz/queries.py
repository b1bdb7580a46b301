"""Query parameters as clients send them, right and wrong."""

from __future__ import annotations

import base64
import json

from hypothesis import strategies as st

from .values import HOSTILE_STRINGS, NAMES, TIMES


def _token(raw: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


_NUMBERS = st.sampled_from(["0", "1", "5", "-1", "30", "1e3", "0x10", "9" * 19, "9" * 20,
                            "9" * 400, "", " 1", "1.5", "+3", "٣"])
_RV = st.sampled_from(["", "0", "1", "2", "10", "999999999", "-1", "abc", "9" * 400])
_TOKENS = st.one_of(
    st.sampled_from(["garbage", "", "=", "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MSwic3RhcnQiOjV9"]),
    st.builds(lambda rv, start: _token({"v": "meta.k8s.io/v1", "rv": rv, "start": start}),
              st.one_of(st.integers(-1, 50), st.just(2**70), st.just("1"), st.none()),
              st.one_of(st.sampled_from(["/registry/pods/default/a", "/registry/", "x", ""]),
                        st.integers(), st.none())))
_LABEL_SELECTORS = st.sampled_from([
    "", "app=fuzz", "app!=fuzz", "app in (fuzz,web)", "app notin (x)", "app", "!app",
    "a in (", "a=b,", "=", "a==b", "a>1", "a gt 1", "a=" + "x" * 70, "a b", "a,,b",
    "app in ()", "ä=b", "k8s.io/x=y", "a=b=c", "(", "a!", "a=\ud800"])
_FIELD_SELECTORS = st.sampled_from([
    "", "metadata.name=a", "metadata.namespace!=default", "spec.nodeName=", "status.phase=Running",
    "spec.bogus=x", "metadata.name", "metadata.name==a", "a=b,c", "metadata.name=a\\,b",
    "involvedObject.kind=Pod", "type=Normal", "spec.schedulerName=default-scheduler",
    "metadata.name=\\", "spec.unschedulable=true", "status.successful=1", "spec.signerName=x"])
PARAMS = {
    "fieldValidation": st.sampled_from(["Strict", "Warn", "Ignore", "strict", "", "Bogus"]),
    "dryRun": st.sampled_from(["All", "", "all", "None", "true"]),
    "resourceVersion": _RV,
    "resourceVersionMatch": st.sampled_from(["", "Exact", "NotOlderThan", "exact", "x"]),
    "limit": _NUMBERS,
    "continue": _TOKENS,
    "labelSelector": _LABEL_SELECTORS,
    "fieldSelector": _FIELD_SELECTORS,
    "watch": st.sampled_from(["true", "false", "1", "0", "yes", ""]),
    "timeoutSeconds": _NUMBERS,
    "gracePeriodSeconds": _NUMBERS,
    "propagationPolicy": st.sampled_from(["Orphan", "Foreground", "Background", "", "x"]),
    "orphanDependents": st.sampled_from(["true", "false", "x"]),
    "sinceTime": st.one_of(TIMES, st.sampled_from(["garbage", "2024-01-01T00:00:00"])),
    "sinceSeconds": _NUMBERS,
    "tailLines": _NUMBERS,
    "limitBytes": _NUMBERS,
    "container": st.one_of(NAMES, HOSTILE_STRINGS),
    "previous": st.sampled_from(["true", "false", "x"]),
    "timestamps": st.sampled_from(["true", "false", "x"]),
    "follow": st.sampled_from(["false", "x"]),  # a followed log stays open: see the harness
    "allowWatchBookmarks": st.sampled_from(["true", "false", "x"]),
    "sendInitialEvents": st.sampled_from(["true", "false", "x", ""]),
    "includeObject": st.sampled_from(["None", "Metadata", "Object", "x"]),
    "fieldManager": st.sampled_from(["fuzz", "", "x" * 200, "\ud800"]),
    "force": st.sampled_from(["true", "false", "x"]),
    "pretty": st.sampled_from(["true", "x"]),
}
_NAMES = sorted(PARAMS)


@st.composite
def query(draw: st.DrawFn, *, watch_allowed: bool = True) -> list[tuple[str, str]]:
    """A few parameters, sometimes repeated; watch only when the caller can stream it."""
    names = draw(st.lists(st.sampled_from(_NAMES), max_size=4))
    out = [(n, draw(PARAMS[n])) for n in names]
    if not watch_allowed:
        out = [(n, v) for n, v in out if n != "watch"]
    return out


ACCEPT = st.sampled_from([
    None, "application/json", "application/json;as=Table;v=v1;g=meta.k8s.io",
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
    "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io",
    "application/vnd.kubernetes.protobuf", "application/yaml", "*/*", "text/html"])
