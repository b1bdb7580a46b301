"""What the verbs share: the object store, the kinds, the admission chain, time and chance."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from minikube_py.api.resources import Resource
from minikube_py.api.timefmt import rfc3339
from minikube_py.apiserver.admission import Admission
from minikube_py.apiserver.kinds.base import Strategy
from minikube_py.apiserver.kinds.registry import KindRegistry
from minikube_py.apiserver.objectstore import ObjectStore


@dataclass(frozen=True, slots=True)
class RestContext:
    objects: ObjectStore
    kinds: KindRegistry
    admission: Admission
    clock: Callable[[], float]
    rng: random.Random

    def strategy(self, resource: Resource) -> Strategy:
        return self.kinds.strategy(resource)

    def now(self) -> str:
        return rfc3339(self.clock())
