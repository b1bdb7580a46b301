"""The iptables commands kube-proxy runs: restore a payload, find our chains, ensure and
remove our jump rules, and clean everything of ours away (`cleanup`)."""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from minikube_py.proxy.rules import (
    DEFAULT_SETTINGS,
    ProxySettings,
    Ruleset,
    jump_rules,
    owned_chain_pattern,
    render_restore,
    saved_chains,
)

log = logging.getLogger("minikube_py.proxy")

TABLES = ("nat", "filter")
WAIT_SECONDS = "5"  # for the xtables lock, shared with anything else running iptables


class IptablesError(Exception):
    """An iptables command failed; the message holds the command and what it printed."""


class Iptables(Protocol):
    async def restore(self, payload: str) -> None: ...
    async def chains(self, table: str) -> list[str]: ...
    async def has_rule(self, table: str, chain: str, args: tuple[str, ...]) -> bool: ...
    async def insert_rule(self, table: str, chain: str, args: tuple[str, ...]) -> None: ...
    async def delete_rule(self, table: str, chain: str, args: tuple[str, ...]) -> None: ...


class SystemIptables:
    """The host's iptables binaries (the nf_tables backend here)."""

    async def _run(self, *argv: str, stdin: str | None = None) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE if stdin is not None else None,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await proc.communicate(stdin.encode() if stdin is not None else None)
        return proc.returncode or 0, out.decode(errors="replace")

    async def _check(self, *argv: str, stdin: str | None = None) -> str:
        rc, out = await self._run(*argv, stdin=stdin)
        if rc != 0:
            raise IptablesError(f"{' '.join(argv)} failed ({rc}): {out.strip()}")
        return out

    async def restore(self, payload: str) -> None:
        await self._check("iptables-restore", "-w", WAIT_SECONDS, "--noflush", stdin=payload)

    async def chains(self, table: str) -> list[str]:
        return saved_chains(await self.save(table))

    async def save(self, table: str) -> str:
        """`iptables-save` of one table."""
        return await self._check("iptables-save", "-t", table)

    async def has_rule(self, table: str, chain: str, args: tuple[str, ...]) -> bool:
        rc, _ = await self._run("iptables", "-w", WAIT_SECONDS, "-t", table, "-C", chain, *args)
        return rc == 0

    async def insert_rule(self, table: str, chain: str, args: tuple[str, ...]) -> None:
        await self._check("iptables", "-w", WAIT_SECONDS, "-t", table, "-I", chain, *args)

    async def delete_rule(self, table: str, chain: str, args: tuple[str, ...]) -> None:
        await self._check("iptables", "-w", WAIT_SECONDS, "-t", table, "-D", chain, *args)


async def owned_chains(iptables: Iptables, settings: ProxySettings) -> dict[str, list[str]]:
    pattern = owned_chain_pattern(settings)
    return {t: [c for c in await iptables.chains(t) if pattern.match(c)] for t in TABLES}


async def ensure_jump_rules(iptables: Iptables, settings: ProxySettings) -> None:
    for table, chain, args in jump_rules(settings):
        if not await iptables.has_rule(table, chain, args):
            await iptables.insert_rule(table, chain, args)


async def cleanup(settings: ProxySettings = DEFAULT_SETTINGS,
                  iptables: Iptables | None = None) -> list[str]:
    """Remove our jump rules from the built-in chains, then our chains; returns what went.
    Safe to call when nothing is there."""
    iptables = iptables or SystemIptables()
    removed: list[str] = []
    for table, chain, args in jump_rules(settings):
        for _ in range(16):  # bounded: a rule inserted twice by a crash is removed twice
            if not await iptables.has_rule(table, chain, args):
                break
            await iptables.delete_rule(table, chain, args)
            removed.append(f"{table} {chain} jump")
    existing = await owned_chains(iptables, settings)
    payload = render_restore(Ruleset({t: {} for t in TABLES}), existing=existing)
    if payload:
        await iptables.restore(payload)
        removed.extend(f"{t} chain {c}" for t, chains in existing.items() for c in chains)
    return removed


async def saved_rules(iptables: SystemIptables | None = None) -> str:
    """Our tables as `iptables-save` prints them, to see which chains and marks are taken."""
    iptables = iptables or SystemIptables()
    return "".join([await iptables.save(t) for t in TABLES])
