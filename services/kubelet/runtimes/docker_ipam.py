"""Pod addresses on the node's Docker network, chosen by the node agent.

As the host-local IPAM plugin does for a kubelet's CNI, the agent hands each new sandbox
an address of its node's podCIDR itself, so the sandbox is created with it
(``EndpointsConfig.IPAMConfig``) and nothing has to ask Docker afterwards which address
its IPAM chose: one Engine API call fewer per pod (an inspect), the same four calls as
``docker run -d`` twice (bench/pod_startup.py counts them).

Addresses go round-robin from the last one handed out, as host-local's do, so an address
a pod just let go is not the next pod's (a stale connection or conntrack entry meets no
new pod).  The network address, the gateway (the first host address, the node's bridge)
and the broadcast address are never handed out.  What the table believes in use is a hint:
it is seeded from the network's attached containers when the agent makes or adopts the
network and kept as sandboxes come and go, but Docker is the authority.  An address
Docker says is already in use is marked so and the next one tried
(:data:`TRIES` in all); when every address is marked, :meth:`take` answers None and
Docker's own IPAM chooses, as it did before (plus its inspect).

Thread-safe: sandboxes are made on the runtime's worker pool.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterable

__all__ = ["TRIES", "PodAddresses", "address_in_use", "attached"]

TRIES = 3
"""Addresses tried for one sandbox before Docker's IPAM is left to choose."""


def address_in_use(message: str) -> bool:
    """Whether Docker refused a sandbox's start because its address is taken (403
    "Address already in use", from the daemon's IPAM)."""
    return "address already in use" in message.lower()


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
        """``ip`` is in use (a sandbox has it, or Docker said so); outside the range: ignored."""
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
