"""Cluster DNS (``jetkube-dns``): CoreDNS's kubernetes plugin as a small asyncio server.

``main`` (flags, ``run_service``) -> ``service`` (informers, kube-dns Service, wiring)
-> ``server`` (UDP/TCP listeners with FREEBIND) -> ``resolver`` (one query: dnspython
messages, NXDOMAIN/NODATA/SOA, truncation) over ``names`` (Services and Endpoints
as records) and ``forward`` (names outside the cluster domain, to one upstream);
``stats`` counts what it did.
"""
