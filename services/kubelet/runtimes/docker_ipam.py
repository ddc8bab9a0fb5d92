"""Pod addresses on the node's pod network, chosen by the node agent.

As the host-local IPAM plugin does for a kubelet's CNI, the agent hands each new sandbox
an address of its node's podCIDR itself and wires it (docker_wiring.py), labelling the
sandbox with it: Docker neither chooses nor knows these addresses, and nothing has to ask
Docker afterwards which address a sandbox got.

Addresses go round-robin from the last one handed out, as host-local's do, so an address
a pod just let go is not the next pod's (a stale connection or conntrack entry meets no
new pod).  The network address, the gateway (the first host address, the node's bridge)
and the broadcast address are never handed out.  The table is seeded when the agent makes
or adopts the node's network, from its sandboxes' labels (and from any container a
Docker network attached), and kept as sandboxes come and go; when every address is held,
:meth:`take` answers None and the sandbox joins the Docker network, whose IPAM chooses.

Thread-safe: sandboxes are removed on the runtime's worker pool.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterable

__all__ = ["PodAddresses", "attached"]


class PodAddresses:
    """The addresses of one podCIDR: which the node's sandboxes hold, and the next to give."""

    def __init__(self, cidr: str, in_use: Iterable[str] = ()) -> None:
        self.network = ipaddress.ip_network(cidr, strict=False)
        first = int(self.network.network_address) + 2  # after the gateway (.1)
        last = int(self.network.broadcast_address) - 1
        self._first, self._size = first, max(0, last - first + 1)
        self._next = 0  # offset of the next address to try
        self._used: set[int] = set()
        self._lock = threading.Lock()
        for ip in in_use:
            self.hold(ip)

    def _offset(self, ip: str) -> int | None:
        try:
            n = int(ipaddress.ip_address(ip.split("/")[0])) - self._first
        except ValueError:
            return None
        return n if 0 <= n < self._size else None

    def take(self) -> str | None:
        """The next free address (now held), or None when every address is held."""
        with self._lock:
            for i in range(self._size):
                n = (self._next + i) % self._size
                if n not in self._used:
                    self._used.add(n)
                    self._next = (n + 1) % self._size
                    return str(ipaddress.ip_address(self._first + n))
        return None

    def hold(self, ip: str) -> None:
        """``ip`` is in use (a sandbox has it); outside the range: ignored."""
        n = self._offset(ip)
        if n is not None:
            with self._lock:
                self._used.add(n)

    def release(self, ip: str) -> None:
        """``ip``'s sandbox is gone: the address may be handed out again (after the others)."""
        n = self._offset(ip)
        if n is not None:
            with self._lock:
                self._used.discard(n)

    def __contains__(self, ip: object) -> bool:
        n = self._offset(ip) if isinstance(ip, str) else None
        return n is not None and n in self._used

    def __len__(self) -> int:
        return len(self._used)


def attached(network: dict[str, object] | None) -> list[str]:
    """The addresses of the containers attached to an inspected Docker network."""
    containers = (network or {}).get("Containers") or {}
    assert isinstance(containers, dict)
    return [str(c.get("IPv4Address") or "").split("/")[0] for c in containers.values()
            if isinstance(c, dict) and c.get("IPv4Address")]
