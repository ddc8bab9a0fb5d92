"""The cluster DNS on a real API server and nats-server: it creates kube-system/kube-dns
at the requested clusterIP, and (queried over UDP and TCP on loopback) a Service's
name appears, a headless Service follows its Endpoints, and a deleted Service's name
becomes NXDOMAIN."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from typing import Any

import dns.asyncquery
import dns.exception
import dns.message
import dns.rcode
import pytest
from polling import until

from jetkube.schemas.objects import Obj
from jetkube.services.dns.server import Listen
from jetkube.services.dns.service import DnsConfig, DnsService
from jetkube.services.machinery.client import ApiClient
from jetkube.services.machinery.runtime import Settings
from jetkube.services.machinery.service import ServiceRuntime, open_runtime
from jetkube.services.machinery.store import connect

pytestmark = pytest.mark.integration
DNS_IP = "10.96.0.10"


@contextlib.asynccontextmanager
async def running_dns(apiserver: dict[str, Any], **cfg: Any) -> AsyncIterator[tuple[DnsService, Listen]]:
    settings = Settings(nats_url=str(apiserver["nats_url"]), bucket=str(apiserver["bucket"]))
    rt: ServiceRuntime = await open_runtime("jetkube-dns", settings, "kube-dns")
    svc = DnsService(rt, DnsConfig(cluster_dns_ip=DNS_IP, listen=[Listen("127.0.0.1", 0)], **cfg))
    await svc.start()
    try:
        yield svc, svc.server.bound[0]
    finally:
        await svc.stop()
        await rt.informers.stop()
        assert rt.nc is not None
        await rt.nc.close()


class Client:
    def __init__(self, at: Listen, timeout: float = 5.0) -> None:
        self.at = at
        self.timeout = timeout

    async def ask(self, name: str, rdtype: str = "A", *, tcp: bool = False) -> dns.message.Message:
        q = dns.message.make_query(name, rdtype)
        if tcp:
            return await dns.asyncquery.tcp(q, self.at.host, port=self.at.port, timeout=self.timeout)
        return await dns.asyncquery.udp(q, self.at.host, port=self.at.port, timeout=self.timeout)

    async def a(self, name: str, *, tcp: bool = False) -> set[str] | None:
        """The name's addresses; None for NXDOMAIN (SERVFAIL before sync: empty set)."""
        m = await self.ask(name, tcp=tcp)
        if m.rcode() == dns.rcode.NXDOMAIN:
            return None
        return {rd.to_text() for rr in m.answer for rd in rr}

    async def becomes(self, name: str, want: set[str] | None) -> None:
        async def answers() -> tuple[set[str] | None, set[str] | None]:
            return await self.a(name), await self.a(name, tcp=True)
        await until(answers, accept=lambda got: got == (want, want), timeout=10, interval=0.02,
                    message=f"{name} answering {want} over UDP and TCP")


def service(name: str, **spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"ports": [{"name": "pg", "port": 5432}], **spec}}


def endpoints(name: str, ready: list[tuple[str, str | None]],
              not_ready: list[str] | None = None) -> Obj:
    subset: Obj = {"addresses": [{"ip": ip, **({"hostname": h} if h else {})} for ip, h in ready],
                   "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]}
    if not_ready:
        subset["notReadyAddresses"] = [{"ip": ip} for ip in not_ready]
    return {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name},
            "subsets": [subset] if ready or not_ready else []}


async def test_kube_dns_service_gets_the_cluster_dns_ip_and_names_follow_the_api(
        apiserver: dict[str, Any]) -> None:
    async with running_dns(apiserver) as (svc, at):
        admin_nc = await connect(str(apiserver["nats_url"]), identity="admin")
        api = ApiClient(admin_nc, "admin")  # the test's own writes; the DNS runs as kube-dns
        assert svc.kube_dns is not None
        created = await asyncio.wait_for(svc.kube_dns, 10)
        assert created is not None
        kube_dns = await api.get("services", "kube-system", "kube-dns")
        assert kube_dns["spec"]["clusterIP"] == DNS_IP
        assert "selector" not in kube_dns["spec"]
        assert {(p["name"], p["port"], p["protocol"]) for p in kube_dns["spec"]["ports"]} == {
            ("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")}
        c = Client(at)
        await c.becomes("kube-dns.kube-system.svc.cluster.local", {DNS_IP})

        web = await api.create("services", "default", service("web"))
        await c.becomes("web.default.svc.cluster.local", {web["spec"]["clusterIP"]})
        await c.becomes("WEB.Default.SVC.cluster.local", {web["spec"]["clusterIP"]})
        srv = await c.ask("_pg._tcp.web.default.svc.cluster.local", "SRV")
        assert [rd.to_text() for rd in srv.answer[0]] == ["0 100 5432 web.default.svc.cluster.local."]

        await api.create("services", "default", service("db", clusterIP="None"))
        await c.becomes("db.default.svc.cluster.local", set())  # no endpoints yet: NODATA
        await api.create("endpoints", "default", endpoints("db", [("10.244.0.5", "db-0")]))
        await c.becomes("db.default.svc.cluster.local", {"10.244.0.5"})
        await c.becomes("db-0.db.default.svc.cluster.local", {"10.244.0.5"})

        eps = await api.get("endpoints", "default", "db")
        eps["subsets"] = endpoints("db", [("10.244.0.6", None)], ["10.244.0.5"])["subsets"]
        await api.update("endpoints", "default", "db", eps)
        await c.becomes("db.default.svc.cluster.local", {"10.244.0.6"})
        await c.becomes("db-0.db.default.svc.cluster.local", None)
        await c.becomes("10-244-0-6.db.default.svc.cluster.local", {"10.244.0.6"})

        await api.patch("services", "default", "db", {"spec": {"publishNotReadyAddresses": True}})
        await c.becomes("db.default.svc.cluster.local", {"10.244.0.5", "10.244.0.6"})

        await api.delete("services", "default", "web")
        await api.delete("services", "default", "db")
        await c.becomes("web.default.svc.cluster.local", None)
        await c.becomes("db.default.svc.cluster.local", None)
        m = await c.ask("web.default.svc.cluster.local")
        assert m.authority and m.authority[0].name.to_text() == "cluster.local."
        assert (await c.ask("example.org")).rcode() == dns.rcode.REFUSED
        await admin_nc.close()
        assert svc.stats.queries > 0


async def test_a_kube_dns_service_that_exists_already_is_kept(apiserver: dict[str, Any]) -> None:
    async with running_dns(apiserver) as (svc, _):
        assert svc.kube_dns is not None
        first = await asyncio.wait_for(svc.kube_dns, 10)
        assert first is not None
    async with running_dns(apiserver) as (svc, _):  # 409 AlreadyExists: fine
        assert svc.kube_dns is not None
        again = await asyncio.wait_for(svc.kube_dns, 10)
        assert again is not None and again["metadata"]["uid"] == first["metadata"]["uid"]


async def test_a_taken_address_is_reported_and_serving_goes_on(
        apiserver: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(nats_url=str(apiserver["nats_url"]), bucket=str(apiserver["bucket"]))
    rt = await open_runtime("test", settings, "admin")
    api: ApiClient = rt.api
    try:
        await api.create("services", "default", service("squatter", clusterIP=DNS_IP))
    finally:
        await rt.informers.stop()
        assert rt.nc is not None
        await rt.nc.close()
    async with running_dns(apiserver) as (svc, at):
        assert svc.kube_dns is not None
        assert await asyncio.wait_for(svc.kube_dns, 10) is None
        assert any("kube-dns" in r.getMessage() and DNS_IP in r.getMessage()
                   for r in caplog.records if r.levelname == "ERROR")
        await Client(at).becomes("squatter.default.svc.cluster.local", {DNS_IP})


def free_udp_and_tcp_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (the kernel's free UDP port may be
    taken for TCP by another process: then try another)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, socket.socket() as t:
            u.bind(("127.0.0.1", 0))
            port = int(u.getsockname()[1])
            try:
                t.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no port free for both UDP and TCP in 50 tries")


async def test_the_program_serves_and_stops_on_sigterm(apiserver: dict[str, Any], tmp_path: Any) -> None:
    port = free_udp_and_tcp_port()
    env = {**os.environ, "JETKUBE_BUCKET": str(apiserver["bucket"]), "KUBECONFIG": "/nonexistent"}
    log = (tmp_path / "dns.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "jetkube.services.dns", "--listen", f"127.0.0.1:{port}",
        "--nats-url", str(apiserver["nats_url"]),
        stdout=log, stderr=log, env=env)
    try:
        c = Client(Listen("127.0.0.1", port), timeout=0.5)

        await until(lambda: c.a("kube-dns.kube-system.svc.cluster.local"), timeout=30, interval=0.02,
                    accept=lambda got: got == {DNS_IP}, message="the program answering",
                    retry_on=(dns.exception.Timeout, OSError))  # not listening yet
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 15) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        log.close()
