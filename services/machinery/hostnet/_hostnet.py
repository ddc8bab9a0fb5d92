"""Host networking for the node agent and the service proxy: links, addresses,
routes, iptables chains, conntrack entries and sysctls, all on this machine.

The one place that runs ``ip``, ``iptables``, ``iptables-restore`` and
``conntrack``.  Callers build *what* they want (rule text, addresses); this
module applies it.  Every command goes through a :class:`Runner`, so unit tests
hand in a fake and read back the commands instead of touching the host.

Names carry a short tag of the cluster's scope (one per ``kctl up`` data dir),
so two clusters on one machine never touch each other's chains, bridges or
routes, and a clean-up can find everything one cluster made.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shlex
import shutil
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

# routes this project installs carry this protocol number (`ip route ... proto 74`)
ROUTE_PROTO = 74
COMMANDS = ("ip", "iptables", "iptables-restore")

Runner = Callable[[list[str], str | None], Awaitable[str]]


class HostNetError(Exception):
    """A host networking command failed; the message names the command and its error."""

    def __init__(self, argv: list[str], message: str) -> None:
        super().__init__(f"{shlex.join(argv)}: {message.strip() or 'failed'}")
        self.argv = argv
        self.stderr = message


async def run_command(argv: list[str], stdin: str | None = None) -> str:
    """Run ``argv``; its stdout, or :class:`HostNetError` with its stderr."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    except FileNotFoundError:
        raise HostNetError(argv, f"{argv[0]} is not installed") from None
    out, err = await proc.communicate(stdin.encode() if stdin is not None else None)
    if proc.returncode != 0:
        raise HostNetError(argv, err.decode(errors="replace"))
    return out.decode(errors="replace")


# --- scope ---------------------------------------------------------------------

def data_dir_scope(data_dir: str) -> str:
    return hashlib.sha256(os.path.realpath(data_dir).encode()).hexdigest()[:12]


def default_scope() -> str:
    """``$JETKUBE_DOCKER_SCOPE``; else one per ``kctl up`` data dir (``$JETKUBE_DATA_DIR``),
    so two clusters on one machine, both with a ``node-1``, never meet; else ``default``."""
    if os.environ.get("JETKUBE_DOCKER_SCOPE"):
        return os.environ["JETKUBE_DOCKER_SCOPE"]
    data_dir = os.environ.get("JETKUBE_DATA_DIR")
    return data_dir_scope(data_dir) if data_dir else "default"


def tag(*parts: str, length: int = 6) -> str:
    """A short stable hex tag of ``parts`` (for names limited to 15 or 28 characters)."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def missing_privileges() -> str | None:
    """None when this process can manage host networking, else why not."""
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        return "needs root (iptables, links and routes)"
    missing = [c for c in COMMANDS if shutil.which(c) is None]
    if missing:
        return f"needs {', '.join(missing)} (Debian: iproute2, iptables)"
    return None


def restore_join(words: list[str]) -> str:
    """One rule line for ``iptables-restore``, which reads double quotes (as ``iptables
    -S`` writes them), not shlex's single quotes: ``--comment "a b"``."""
    return " ".join(w if w and not any(c in w for c in ' "\'\t\\') else
                    '"' + w.replace("\\", "\\\\").replace('"', '\\"') + '"' for w in words)


# --- the host ------------------------------------------------------------------

class HostNet:
    """Idempotent operations on this machine's network configuration."""

    def __init__(self, runner: Runner = run_command, proc_sys: Path = Path("/proc/sys")) -> None:
        self.run = runner
        self.proc_sys = proc_sys

    # links and addresses
    async def links(self) -> list[dict[str, Any]]:
        return list(json.loads(await self.run(["ip", "-j", "link", "show"], None) or "[]"))

    async def ensure_bridge(self, name: str) -> None:
        """A bridge with no ports: a local interface that only holds addresses and routes
        (the kernel here may lack the ``dummy`` link type)."""
        if not any(link.get("ifname") == name for link in await self.links()):
            await self.run(["ip", "link", "add", name, "type", "bridge"], None)
        await self.run(["ip", "link", "set", name, "up"], None)

    async def delete_link(self, name: str) -> None:
        if any(link.get("ifname") == name for link in await self.links()):
            await self.run(["ip", "link", "del", name], None)

    async def addresses(self, link: str | None = None) -> set[str]:
        """``a.b.c.d/len`` IPv4 addresses of ``link`` (of every link if None)."""
        argv = ["ip", "-j", "-4", "addr", "show", *(["dev", link] if link else [])]
        out = json.loads(await self.run(argv, None) or "[]")
        return {f"{a['local']}/{a['prefixlen']}" for i in out for a in i.get("addr_info", [])
                if a.get("family") == "inet"}

    async def local_ips(self) -> set[str]:
        return {a.split("/")[0] for a in await self.addresses()}

    async def sync_addresses(self, link: str, want: Iterable[str]) -> tuple[set[str], set[str]]:
        """Make ``link`` hold exactly ``want`` (``ip/len``); returns (added, removed).

        Several proxies of one host (``kctl up --nodes N``) share the ClusterIP link, so an
        address another one added or deleted since :meth:`addresses` read it is no error."""
        have, wanted = await self.addresses(link), set(want)
        for a in sorted(wanted - have):
            await self._tolerating(["ip", "addr", "add", a, "dev", link], "already assigned")
        for a in sorted(have - wanted):
            await self._tolerating(["ip", "addr", "del", a, "dev", link], "Address not found",
                                   "Cannot assign requested address")
        return wanted - have, have - wanted

    async def _tolerating(self, argv: list[str], *benign: str) -> None:
        """Run ``argv``; an error whose message holds one of ``benign`` (iproute2's words,
        old and new) means the change is already made."""
        try:
            await self.run(argv, None)
        except HostNetError as err:
            if not any(b in err.stderr for b in benign):
                raise

    # routes
    async def routes(self, proto: int = ROUTE_PROTO) -> list[dict[str, Any]]:
        out = await self.run(["ip", "-j", "-4", "route", "show", "proto", str(proto)], None)
        return list(json.loads(out or "[]"))

    async def replace_route(self, dst: str, *spec: str, proto: int = ROUTE_PROTO) -> None:
        """``ip route replace DST SPEC... proto N`` (e.g. ``via 192.168.1.12``, ``unreachable``)."""
        if spec and spec[0] in ("unreachable", "blackhole", "prohibit"):
            argv = ["ip", "route", "replace", spec[0], dst, *spec[1:]]
        else:
            argv = ["ip", "route", "replace", dst, *spec]
        await self.run([*argv, "proto", str(proto)], None)

    async def delete_route(self, dst: str, *spec: str, proto: int = ROUTE_PROTO) -> None:
        kind = [spec[0]] if spec and spec[0] in ("unreachable", "blackhole", "prohibit") else []
        try:
            await self.run(["ip", "route", "del", *kind, dst, "proto", str(proto)], None)
        except HostNetError as err:
            if "No such process" not in err.stderr:
                raise

    async def delete_route_matching(self, dst: str, *spec: str, proto: int = ROUTE_PROTO) -> None:
        """``ip route del DST SPEC... proto N`` with the whole spec (e.g. ``metric 7``, to
        remove one of several routes to DST); gone already is fine."""
        try:
            await self.run(["ip", "route", "del", dst, *spec, "proto", str(proto)], None)
        except HostNetError as err:
            if "No such process" not in err.stderr:
                raise

    async def delete_route_of_type(self, kind: str, dst: str, *spec: str, proto: int = ROUTE_PROTO) -> None:
        """``ip route del KIND DST SPEC... proto N`` (e.g. ``unreachable``, ``metric 7``: one of
        several routes to DST); gone already is fine."""
        try:
            await self.run(["ip", "route", "del", kind, dst, *spec, "proto", str(proto)], None)
        except HostNetError as err:
            if "No such process" not in err.stderr:
                raise

    # iptables
    async def restore(self, text: str) -> None:
        """Apply ``iptables-save``-format text without flushing chains it does not name."""
        await self.run(["iptables-restore", "-w", "5", "--noflush"], text)

    async def rules(self, table: str) -> list[str]:
        """``iptables -S`` lines of ``table`` (``-P``/``-N`` declarations and ``-A`` rules)."""
        out = await self.run(["iptables", "-w", "5", "-t", table, "-S"], None)
        return out.splitlines()

    async def chains(self, table: str) -> set[str]:
        out = await self.run(["iptables", "-w", "5", "-t", table, "-S"], None)
        return {line.split()[1] for line in out.splitlines() if line.startswith(("-N ", "-P "))}

    async def ensure_jump(self, table: str, parent: str, chain: str, *match: str,
                          comment: str = "jetkube") -> None:
        """Insert ``-j chain`` first in ``parent`` unless it is there already."""
        rule = [*match, "-m", "comment", "--comment", comment, "-j", chain]
        try:
            await self.run(["iptables", "-w", "5", "-t", table, "-C", parent, *rule], None)
        except HostNetError:
            await self.run(["iptables", "-w", "5", "-t", table, "-I", parent, "1", *rule], None)

    async def remove_jumps(self, table: str, parent: str, chain: str) -> None:
        out = await self.run(["iptables", "-w", "5", "-t", table, "-S", parent], None)
        for line in out.splitlines():
            words = shlex.split(line)
            if words[:2] == ["-A", parent] and words[-2:] == ["-j", chain]:
                await self.run(["iptables", "-w", "5", "-t", table, "-D", *words[1:]], None)

    async def delete_chains(self, table: str, prefix: str) -> list[str]:
        """Remove every chain named ``prefix…`` in ``table`` and every jump to one."""
        out = await self.run(["iptables", "-w", "5", "-t", table, "-S"], None)
        mine = {ln.split()[1] for ln in out.splitlines()
                if ln.startswith("-N ") and ln.split()[1].startswith(prefix)}
        if not mine:
            return []
        lines = [f"*{table}"]
        for line in out.splitlines():
            words = shlex.split(line)
            if (words[:1] == ["-A"] and words[1] not in mine and len(words) > 2
                    and words[-2] == "-j" and words[-1] in mine):
                lines.append(restore_join(["-D", *words[1:]]))
        lines += [f"-F {c}" for c in sorted(mine)] + [f"-X {c}" for c in sorted(mine)]
        await self.restore("\n".join([*lines, "COMMIT", ""]))
        return sorted(mine)

    # conntrack and sysctls
    async def conntrack_delete(self, protocol: str, *, orig_dst: str | None = None,
                               reply_src: str | None = None) -> None:
        """Forget conntrack entries (stale UDP flows after an endpoint went away);
        without the ``conntrack`` tool this is a no-op that says so once."""
        await self.conntrack_delete_flows(protocol, orig_dst=orig_dst, reply_src=reply_src)

    async def conntrack_delete_flows(self, protocol: str, *, orig_dst: str | None = None,
                                     dport: int | None = None, reply_src: str | None = None) -> None:
        """``conntrack_delete`` that may also match the original destination port."""
        if shutil.which("conntrack") is None:
            return
        argv = ["conntrack", "-D", "-p", protocol.lower()]
        if orig_dst:
            argv += ["--orig-dst", orig_dst]
        if dport is not None:
            argv += ["--orig-port-dst", str(dport)]
        if reply_src:
            argv += ["--reply-src", reply_src]
        try:
            await self.run(argv, None)
        except HostNetError as err:  # "0 flow entries have been deleted" exits 1
            if "0 flow entries" not in err.stderr:
                raise

    def read_sysctl(self, key: str) -> str | None:
        """The value of ``key``, or None when this kernel has no such setting."""
        try:
            return (self.proc_sys / key.replace(".", "/")).read_text().strip()
        except OSError:
            return None

    def sysctl(self, key: str, value: str) -> bool:
        """Set ``net.ipv4.ip_forward``-style ``key`` to ``value``; True if it changed."""
        path = self.proc_sys / key.replace(".", "/")
        try:
            if path.read_text().strip() == value:
                return False
            path.write_text(value)
        except OSError as err:
            raise HostNetError(["sysctl", f"{key}={value}"], str(err)) from None
        return True


__all__ = ["COMMANDS", "ROUTE_PROTO", "HostNet", "HostNetError", "Runner", "data_dir_scope",
           "default_scope", "missing_privileges", "restore_join", "run_command", "tag"]
