"""What the cluster DNS server did, counted (a span per query would cost more than the
answer): logged at debug now and then by the service."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class Stats:
    """Counters of what the server did (logged at debug now and then)."""

    queries: int = 0
    tcp: int = 0
    nxdomain: int = 0
    nodata: int = 0
    refused: int = 0
    servfail: int = 0
    formerr: int = 0
    dropped: int = 0
    truncated: int = 0
    forwarded: int = 0
    forward_failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
