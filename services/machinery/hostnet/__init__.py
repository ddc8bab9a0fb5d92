"""Host networking: links, addresses, routes, iptables chains and conntrack on this machine.

Only the node agent (pod networks) and the service proxy import it; nothing
else in jetkube runs ``ip``, ``iptables`` or ``conntrack``.
"""

from __future__ import annotations

from ._hostnet import (
    HostNet,
    HostNetError,
    data_dir_scope,
    default_scope,
    missing_privileges,
    restore_join,
    tag,
)

__all__ = [
    "HostNet",
    "HostNetError",
    "data_dir_scope",
    "default_scope",
    "missing_privileges",
    "restore_join",
    "tag",
]
