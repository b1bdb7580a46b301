"""Restart decisions: whether a finished container restarts, and the crash-loop back-off."""

from __future__ import annotations

from dataclasses import dataclass, field

INITIAL_BACKOFF = 10.0
MAX_BACKOFF = 300.0
RESET_AFTER = 600.0  # a container that ran this long without crashing starts over at 10 s


def should_restart(restart_policy: str, exit_code: int) -> bool:
    if restart_policy == "Never":
        return False
    if restart_policy == "OnFailure":
        return exit_code != 0
    return True  # Always (the default)


@dataclass
class _Entry:
    delay: float
    last_restart: float


@dataclass
class RestartBackoff:
    """Per (pod uid, container) back-off, as the kubelet's flowcontrol.Backoff: the first
    restart is immediate; each further crash doubles the wait (10 s ... 300 s)."""

    initial: float = INITIAL_BACKOFF
    maximum: float = MAX_BACKOFF
    reset_after: float = RESET_AFTER
    _entries: dict[tuple[str, str], _Entry] = field(default_factory=dict)

    def remaining(self, key: tuple[str, str], finished_at: float, now: float) -> float:
        """Seconds still to wait before restarting a container that finished at finished_at."""
        entry = self._entries.get(key)
        if entry is None or now - entry.last_restart > self.reset_after + entry.delay:
            return 0.0
        return max(0.0, finished_at + entry.delay - now)

    def remaining_since_last(self, key: tuple[str, str], now: float) -> float:
        """Seconds still to wait after the last recorded attempt (an image pull that failed)."""
        entry = self._entries.get(key)
        if entry is None or now - entry.last_restart > self.reset_after + entry.delay:
            return 0.0
        return max(0.0, entry.last_restart + entry.delay - now)

    def current_delay(self, key: tuple[str, str]) -> float:
        entry = self._entries.get(key)
        return entry.delay if entry else 0.0

    def record_restart(self, key: tuple[str, str], now: float) -> None:
        entry = self._entries.get(key)
        if entry is None or now - entry.last_restart > self.reset_after + entry.delay:
            self._entries[key] = _Entry(self.initial, now)
        else:
            self._entries[key] = _Entry(min(entry.delay * 2, self.maximum), now)

    def forget(self, key: tuple[str, str]) -> None:
        self._entries.pop(key, None)

    def forget_pod(self, uid: str) -> None:
        for key in [k for k in self._entries if k[0] == uid]:
            del self._entries[key]


def crash_loop_message(delay: float, container: str, pod_name: str, namespace: str,
                       uid: str) -> str:
    return (f"back-off {int(delay)}s restarting failed container={container} "
            f"pod={pod_name}_{namespace}({uid})")
