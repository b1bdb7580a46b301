"""A lockstep network of Raft cores for unit tests: every message is delivered at once
unless an end is isolated, every Ready is persisted at once, ticks are explicit."""

from __future__ import annotations

import random

from minikube_py.store.raft import Message, MessageType, Raft, RaftConfig, ReadState, Role


class Network:
    def __init__(
        self,
        size: int,
        *,
        pre_vote: bool = True,
        check_quorum: bool = True,
        election_tick: int = 10,
        seed: int = 0,
        **config: int,
    ) -> None:
        """`config`: more RaftConfig fields for every member (flow control, say)."""
        self.ids = tuple(range(1, size + 1))
        self.rafts = {
            i: Raft(
                RaftConfig(
                    i, self.ids, election_tick=election_tick,
                    pre_vote=pre_vote, check_quorum=check_quorum, **config,  # type: ignore[arg-type]
                ),
                random.Random(seed * 1000 + i),
            )
            for i in self.ids
        }  # fmt: skip
        self.isolated: set[int] = set()
        self.read_states: dict[int, list[ReadState]] = {i: [] for i in self.ids}
        self.sent: list[Message] = []  # every message that reached its addressee

    def isolate(self, i: int) -> None:
        self.isolated.add(i)

    def heal(self) -> None:
        self.isolated.clear()

    def flush(self) -> None:
        """Persist, send and apply until nothing is left to do."""
        busy = True
        while busy:
            busy = False
            for i, r in self.rafts.items():
                while r.has_ready():
                    busy = True
                    rd = r.ready()
                    self.read_states[i].extend(rd.read_states)
                    r.advance(rd)
                    for m in rd.messages:
                        delivered = m.to not in self.isolated and m.frm not in self.isolated
                        if delivered:
                            self.sent.append(m)
                            self.rafts[m.to].step(m)
                        if m.type is MessageType.SNAP:  # as a transport reports it
                            r.report_snapshot(m.to, ok=delivered)

    def tick(self, times: int = 1, only: tuple[int, ...] | None = None) -> None:
        """Tick every member (or `only` these: the others' clocks stand still)."""
        for _ in range(times):
            for i, r in self.rafts.items():
                if only is None or i in only:
                    r.tick()
            self.flush()

    def elect(self, i: int) -> Raft:
        r = self.rafts[i]
        r.campaign()
        self.flush()
        assert r.role is Role.LEADER, f"member {i} did not win: {r.role}"
        return r

    def leaders(self) -> list[int]:
        return [i for i, r in self.rafts.items() if r.role is Role.LEADER]
