"""A small operator written with the official Python client, as users write them: it lists
and watches a custom resource, reconciles each into a ConfigMap, and writes the resource's
status; `kubectl get` then shows the resource's printer columns."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from minikube_py.api.resources import CONFIGMAPS
from minikube_py.apiserver.service import ApiService
from tests.conditions import until
from tests.unit.apiserver.conftest import official_client
from tests.unit.apiserver.test_apiserver_http import kubectl, needs_kubectl

NS = "default"
GROUP, VERSION, PLURAL = "shop.example.com", "v1", "greetings"
CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": f"{PLURAL}.{GROUP}"},
    "spec": {"group": GROUP, "scope": "Namespaced",
             "names": {"plural": PLURAL, "singular": "greeting", "kind": "Greeting",
                       "shortNames": ["gr"]},
             "versions": [{
                 "name": VERSION, "served": True, "storage": True,
                 "subresources": {"status": {}},
                 "additionalPrinterColumns": [
                     {"name": "Message", "type": "string", "jsonPath": ".spec.message"},
                     {"name": "Phase", "type": "string", "jsonPath": ".status.phase"}],
                 "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                     "spec": {"type": "object", "required": ["message"], "properties": {
                         "message": {"type": "string", "minLength": 1}}},
                     "status": {"type": "object", "properties": {
                         "phase": {"type": "string"},
                         "configMap": {"type": "string"}}}}}}}]}}


def operator(api_client: Any, stop: threading.Event, ready: threading.Event) -> None:
    """List, then watch greetings; for each, a ConfigMap with its message and an owner
    reference to it, then status.phase Ready naming the ConfigMap. Stops after `stop`."""
    from kubernetes import client, watch

    custom = client.CustomObjectsApi(api_client)
    core = client.CoreV1Api(api_client)

    def reconcile(obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        name = f"{meta['name']}-greeting"
        body = client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name=name, owner_references=[client.V1OwnerReference(
                api_version=f"{GROUP}/{VERSION}", kind="Greeting", name=meta["name"],
                uid=meta["uid"], controller=True)]),
            data={"message": obj["spec"]["message"]})
        try:
            core.create_namespaced_config_map(NS, body)
        except client.ApiException as e:
            if e.status != 409:
                raise
            core.replace_namespaced_config_map(name, NS, body)
        custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, NS, PLURAL, meta["name"],
            {"status": {"phase": "Ready", "configMap": name}})

    listed = custom.list_namespaced_custom_object(GROUP, VERSION, NS, PLURAL)
    for item in listed["items"]:
        reconcile(item)
    ready.set()
    w = watch.Watch()
    while not stop.is_set():
        for event in w.stream(custom.list_namespaced_custom_object, GROUP, VERSION, NS, PLURAL,
                              resource_version=listed["metadata"]["resourceVersion"],
                              timeout_seconds=1):
            obj = event["object"]
            listed["metadata"]["resourceVersion"] = obj["metadata"]["resourceVersion"]
            if event["type"] in ("ADDED", "MODIFIED") and \
                    (obj.get("status") or {}).get("phase") != "Ready":
                reconcile(obj)
            if stop.is_set():
                break


@needs_kubectl
async def test_an_operator_reconciles_greetings_into_configmaps_and_reports_status(
        svc: ApiService, server: TestServer, kubeconfig: Path) -> None:
    from kubernetes import client

    api_client = official_client(server)
    ext = client.ApiextensionsV1Api(api_client)
    await asyncio.to_thread(ext.create_custom_resource_definition, CRD)

    async def established() -> bool:
        crd = await asyncio.to_thread(ext.read_custom_resource_definition, f"{PLURAL}.{GROUP}")
        return any(c.type == "Established" and c.status == "True"
                   for c in crd.status.conditions or [])

    await until(established, "the CRD established", timeout=20)
    custom = client.CustomObjectsApi(api_client)
    greeting = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Greeting",
                "metadata": {"name": "hello"}, "spec": {"message": "hello from the operator"}}
    await asyncio.to_thread(custom.create_namespaced_custom_object, GROUP, VERSION, NS,
                            PLURAL, greeting)
    stop, ready = threading.Event(), threading.Event()
    thread = threading.Thread(target=operator, args=(api_client, stop, ready), daemon=True)
    thread.start()
    try:
        async def configmap(name: str) -> dict[str, Any] | None:
            items = (await svc.list(CONFIGMAPS, namespace=NS))["items"]
            return next((c for c in items if c["metadata"]["name"] == name), None)

        async def exists(name: str) -> bool:
            return await configmap(name) is not None

        await until(lambda: exists("hello-greeting"), "the listed greeting's ConfigMap",
                    timeout=20)
        made = await configmap("hello-greeting")
        assert made is not None
        assert made["data"] == {"message": "hello from the operator"}
        assert made["metadata"]["ownerReferences"][0]["kind"] == "Greeting"
        await asyncio.to_thread(ready.wait, 10)
        # One created after the operator started reaches it through its watch.
        later = {**greeting, "metadata": {"name": "later"}, "spec": {"message": "watched"}}
        await asyncio.to_thread(custom.create_namespaced_custom_object, GROUP, VERSION, NS,
                                PLURAL, later)
        await until(lambda: exists("later-greeting"), "the watched greeting's ConfigMap",
                    timeout=20)
        watched = await configmap("later-greeting")
        assert watched is not None
        assert watched["data"] == {"message": "watched"}

        async def phase_ready() -> bool:
            obj = await asyncio.to_thread(custom.get_namespaced_custom_object, GROUP, VERSION,
                                          NS, PLURAL, "later")
            return (obj.get("status") or {}).get("phase") == "Ready"

        await until(phase_ready, "later's status written", timeout=20)
        rc, out, err = await kubectl(kubeconfig, "get", "gr")
        assert rc == 0, err
        rows = [line.split() for line in out.splitlines()]
        assert rows[0] == ["NAME", "MESSAGE", "PHASE"]
        assert ["later", "watched", "Ready"] in rows
        # An invalid greeting is refused with the schema's reason.
        try:
            await asyncio.to_thread(custom.create_namespaced_custom_object, GROUP, VERSION, NS,
                                    PLURAL, {**greeting, "metadata": {"name": "empty"},
                                             "spec": {"message": ""}})
            raise AssertionError("an empty message was accepted")
        except client.ApiException as e:
            assert e.status == 422
            assert "spec.message" in e.body
    finally:
        stop.set()
        await asyncio.to_thread(thread.join, 10)
