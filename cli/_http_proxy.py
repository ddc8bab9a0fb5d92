"""Which proxy kctl's HTTP transport (cli/_http.py) goes through, read from the
environment as kubectl (Go's ``httpproxy``) reads it.

``HTTPS_PROXY`` for ``https://`` servers, ``HTTP_PROXY`` for ``http://`` ones (upper
case first, then lower case); ``NO_PROXY`` lists hosts, domains (``example.com`` and
its subdomains, ``.example.com``), IP addresses and CIDR blocks, each optionally
``:port``, that go direct, ``*`` for all.  ``localhost`` and loopback addresses never
go through a proxy (a ``kctl up`` cluster is on 127.0.0.1).  An ``http://`` proxy is
used (``CONNECT`` for HTTPS, the absolute URL for HTTP, with ``Proxy-Authorization``
from its user info); another scheme fails the connection with a message saying so.
Nothing is imported unless a proxy variable is set.
"""

from __future__ import annotations

import os

__all__ = ["Proxy", "proxy_for"]


class Proxy:
    """A proxy to connect through (``error``: why it cannot be used)."""

    def __init__(self, host: str, port: int, headers: dict[str, str],
                 error: str | None = None) -> None:
        self.host = host
        self.port = port
        self.headers = headers
        self.error = error


def _env(*names: str) -> str:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return ""


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bypassed(host: str, port: int, no_proxy: str) -> bool:
    import ipaddress

    host = host.lower().rstrip(".")
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        if "/" in entry:  # a CIDR block
            try:
                if ip is not None and ip in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        name, want_port = entry, 0
        if entry.startswith("["):  # [v6]:port
            name, _, rest = entry[1:].partition("]")
            want_port = int(rest[1:]) if rest[1:].isdigit() else 0
        elif entry.count(":") == 1:
            name, _, p = entry.partition(":")
            want_port = int(p) if p.isdigit() else 0
        if want_port and want_port != port:
            continue
        if ip is not None:
            try:
                if ip == ipaddress.ip_address(name):
                    return True
            except ValueError:
                pass
            continue
        domain = name.lstrip("*").lstrip(".")
        if (host == domain and not name.startswith(".")) or host.endswith("." + domain):
            return True
    return False


def proxy_for(scheme: str, host: str, port: int) -> Proxy | None:
    """The proxy for a server at ``scheme://host:port``, or None to connect directly."""
    url = _env("HTTPS_PROXY", "https_proxy") if scheme == "https" else \
        _env("HTTP_PROXY", "http_proxy")
    if not url or _loopback(host) or _bypassed(host, port, _env("NO_PROXY", "no_proxy")):
        return None
    from urllib.parse import unquote, urlsplit

    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    try:
        proxy_port = parts.port or 80
    except ValueError:
        proxy_port = 0
    if parts.scheme != "http" or not parts.hostname or not proxy_port:
        return Proxy("", 0, {}, f"proxyconnect: proxy {url!r} is not supported "
                     "(kctl connects through http:// proxies)")
    headers: dict[str, str] = {}
    if parts.username is not None:
        import base64

        cred = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Proxy-Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode()
    return Proxy(parts.hostname, proxy_port, headers)
