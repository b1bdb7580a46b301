"""The scheduler's node cache: one NodeInfo per node, in a stable order, with a generation
that changes whenever that order or any node's static facts change (what the equivalence
cache's verdicts depend on)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from minikube_py.scheduler.nodeinfo import Census, NodeInfo, Obj


class NodeSnapshot(Mapping[str, NodeInfo]):
    """NodeInfos by node name; `infos` lists them in the order nodes were first seen, the
    order scheduling cycles walk. Read `infos`, never change it: only `upsert` and
    `remove` do, and they keep `generation` honest. A node's NodeInfo stays the same
    object for as long as the node exists."""

    def __init__(self) -> None:
        self.infos: list[NodeInfo] = []
        self.generation = 0
        # Resource states over every node, kept current by the NodeInfos themselves.
        self.census = Census()
        self._position: dict[str, int] = {}

    def __getitem__(self, name: str) -> NodeInfo:
        return self.infos[self._position[name]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._position)

    def __len__(self) -> int:
        return len(self.infos)

    def upsert(self, node: Obj) -> NodeInfo:
        """A node seen for the first time goes last; a known one keeps its place and what
        is placed on it. Only a change the static filters can see starts a generation: a
        heartbeat or a new podCIDR does not."""
        name = str((node.get("metadata") or {}).get("name", ""))
        position = self._position.get(name)
        if position is None:
            info = NodeInfo.of(node)
            info.census = self.census
            self.census.count(info, 1)
            self._position[name] = len(self.infos)
            self.infos.append(info)
            self.generation += 1
            return info
        info = self.infos[position]
        if info.set_node(node):
            self.generation += 1
        return info

    def remove(self, name: str) -> NodeInfo | None:
        position = self._position.pop(name, None)
        if position is None:
            return None
        info = self.infos.pop(position)
        self.census.count(info, -1)
        info.census = None
        for later in self.infos[position:]:
            self._position[later.name] -= 1
        self.generation += 1
        return info
