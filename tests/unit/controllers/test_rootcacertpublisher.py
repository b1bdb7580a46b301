"""What the root CA publisher writes into a namespace, and when it rewrites what is there."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from minikube_py.controllers.rootcacertpublisher import (
    DESCRIPTION,
    DESCRIPTION_ANNOTATION,
    repaired_configmap,
    root_ca_configmap,
)

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
Obj = dict[str, Any]


def test_the_configmap_holds_the_ca_and_kubes_description() -> None:
    assert root_ca_configmap("team-a", CA) == {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "kube-root-ca.crt", "namespace": "team-a",
                     "annotations": {"kubernetes.io/description": DESCRIPTION}},
        "data": {"ca.crt": CA}}
    assert DESCRIPTION.startswith("Contains a CA bundle that can be used to verify the "
                                  "kube-apiserver when using internal endpoints")


def published(**changes: Any) -> Obj:
    cm = root_ca_configmap("team-a", CA)
    cm["metadata"].update(uid="u", resourceVersion="3")
    cm.update(changes)
    return cm


@pytest.mark.parametrize(("current", "want_annotations"), [
    (published(data={"ca.crt": "edited"}), {DESCRIPTION_ANNOTATION: DESCRIPTION}),
    (published(data={"ca.crt": CA, "extra": "x"}), {DESCRIPTION_ANNOTATION: DESCRIPTION}),
    (published(data=None), {DESCRIPTION_ANNOTATION: DESCRIPTION}),
    (published(metadata={"name": "kube-root-ca.crt", "namespace": "team-a",
                         "annotations": {"team": "a"}}),
     {"team": "a", DESCRIPTION_ANNOTATION: DESCRIPTION}),
    (published(metadata={"name": "kube-root-ca.crt", "namespace": "team-a",
                         "annotations": {DESCRIPTION_ANNOTATION: "ours"}},
               data={"ca.crt": "old"}),
     {DESCRIPTION_ANNOTATION: "ours"}),
])
def test_an_edited_configmap_gets_exactly_the_ca_back(current: Obj,
                                                     want_annotations: dict[str, str]) -> None:
    before = copy.deepcopy(current)
    fixed = repaired_configmap(current, CA)
    assert fixed is not None
    assert fixed["data"] == {"ca.crt": CA}
    assert fixed["metadata"]["annotations"] == want_annotations
    assert current == before  # the cache's copy is not touched


@pytest.mark.parametrize("current", [
    published(),
    published(metadata={"name": "kube-root-ca.crt", "namespace": "team-a",
                        "annotations": {DESCRIPTION_ANNOTATION: "a description of our own"},
                        "labels": {"x": "y"}}),
])
def test_a_configmap_with_the_ca_and_a_description_is_left_alone(current: Obj) -> None:
    assert repaired_configmap(current, CA) is None


def test_a_new_ca_replaces_the_old_one() -> None:
    fixed = repaired_configmap(published(), "-----BEGIN CERTIFICATE-----\nNEW\n")
    assert fixed is not None and fixed["data"] == {"ca.crt": "-----BEGIN CERTIFICATE-----\nNEW\n"}
