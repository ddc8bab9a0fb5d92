"""``kctl api-resources``, ``kctl version`` and ``kctl cluster-info``.

cluster-info reports the API URL and the health of every part it can see,
like ``etcdctl endpoint health``: the API server (``/healthz`` and each
``/readyz?verbose`` check), whatever ``/api/v1/componentstatuses`` lists, and,
for a cluster started by ``kctl up``, NATS/JetStream through its monitoring
port and each recorded process.
"""

from __future__ import annotations

import argparse
import time
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as pkg_version
from pathlib import Path
from typing import Any

import httpx

from jetkube.services.machinery.apimachinery.apierrors import ApiError

from ..console import echo, out
from ..context import Ctx
from ..errors import CliError
from ..output import to_json, to_yaml
from ..procs import alive, is_ours
from ..tables import render
from ..up import load_state


def client_version() -> str:
    try:
        return "v" + pkg_version("jetkube")
    except PackageNotFoundError:
        return "v0.0.0-dev"


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "api-resources", help="Print the supported API resources on the server")
    p.add_argument("--namespaced", choices=["true", "false"])
    p.add_argument("--api-group", help="only this group ('' for the core group)")
    p.add_argument("-o", "--output", choices=["wide", "name"])
    p.add_argument("--no-headers", action="store_true")
    p.set_defaults(func=run_api_resources)

    v = sub.add_parser("version", help="Print the client and server version information")
    v.add_argument("--client", action="store_true", help="client version only")
    v.add_argument("-o", "--output", choices=["json", "yaml"])
    v.set_defaults(func=run_version)

    c = sub.add_parser("cluster-info", help="Display the API address and component health")
    c.set_defaults(func=run_cluster_info)


def run_api_resources(ctx: Ctx) -> int:
    a = ctx.args
    res = ctx.discovery.resources()
    if a.namespaced is not None:
        res = [r for r in res if r.namespaced == (a.namespaced == "true")]
    if a.api_group is not None:
        res = [r for r in res if r.group == a.api_group]
    res = sorted(res, key=lambda r: (r.group, r.plural))
    if a.output == "name":
        for r in res:
            echo(r.qualified)
        return 0
    headers = ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    if a.output == "wide":
        headers += ["VERBS", "CATEGORIES"]
    rows = []
    for r in res:
        row = [r.plural, ",".join(r.short_names), r.api_version, str(r.namespaced).lower(),
               r.kind]
        if a.output == "wide":
            row += [f"[{' '.join(r.verbs)}]", ",".join(r.categories)]
        rows.append(row)
    for line in render(headers, rows, show_headers=not a.no_headers):
        echo(line)
    return 0


def run_version(ctx: Ctx) -> int:
    a = ctx.args
    cv = {"gitVersion": client_version(), "platform": "python", "goVersion": ""}
    doc: dict[str, Any] = {"clientVersion": cv}
    server_err: Exception | None = None
    if not a.client:
        try:
            doc["serverVersion"] = ctx.client.get("/version")
        except (ApiError, CliError) as e:
            server_err = e
    if a.output == "json":
        echo(to_json(doc))
    elif a.output == "yaml":
        echo(to_yaml(doc).rstrip())
    else:
        echo(f"Client Version: {cv['gitVersion']}")
        if "serverVersion" in doc:
            echo(f"Server Version: {doc['serverVersion'].get('gitVersion', '<unknown>')}")
    if server_err is not None:
        raise server_err
    return 0


def _timed_get(http: httpx.Client, url: str, params: dict[str, str] | None = None
               ) -> tuple[int | None, str, float]:
    t0 = time.monotonic()
    try:
        r = http.get(url, params=params)
        return r.status_code, r.text, time.monotonic() - t0
    except httpx.HTTPError as e:
        return None, f"{e.__class__.__name__}: {e}", time.monotonic() - t0


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}ms"


def run_cluster_info(ctx: Ctx) -> int:
    cfg = ctx.config
    rows: list[list[str]] = []
    healthy = True
    t0 = time.monotonic()
    code, body = ctx.client.text("/healthz", timeout=5)
    took = time.monotonic() - t0
    echo(f"Kubernetes control plane is running at {cfg.server}")
    ok = code == 200
    healthy &= ok
    rows.append(["apiserver", cfg.server, "healthy" if ok else "unhealthy", _ms(took),
                 body.strip()[:80] or f"HTTP {code}"])
    rcode, rbody = ctx.client.text("/readyz", {"verbose": "true"}, timeout=5)
    for line in rbody.splitlines():
        line = line.strip()
        if line.startswith(("[+]", "[-]")):
            name, _, msg = line[3:].partition(" ")
            good = line.startswith("[+]")
            healthy &= good
            rows.append([f"apiserver/readyz/{name}", cfg.server,
                         "healthy" if good else "unhealthy", "", msg])
    if rcode != 200 and not any(r[0].startswith("apiserver/readyz") for r in rows):
        healthy = False
        rows.append(["apiserver/readyz", cfg.server, "unhealthy", "", f"HTTP {rcode}"])
    try:
        cs = ctx.client.get("/api/v1/componentstatuses")
        for item in cs.get("items") or []:
            cond: dict[str, Any] = next(
                (c for c in item.get("conditions") or [] if c.get("type") == "Healthy"), {})
            good = cond.get("status") == "True"
            healthy &= good
            rows.append([str((item.get("metadata") or {}).get("name")),
                         str((item.get("metadata") or {}).get("annotations", {}).get(
                             "jetkube.io/endpoint", "")) or "-",
                         "healthy" if good else "unhealthy", "",
                         str(cond.get("message") or cond.get("error") or "")])
    except ApiError:
        pass
    healthy &= _local_cluster_rows(cfg.kubeconfig.path, cfg.server, rows)
    echo("")
    con = out()
    lines = render(["COMPONENT", "ENDPOINT", "HEALTH", "TOOK", "MESSAGE"], rows)
    echo(lines[0])
    for line, row in zip(lines[1:], rows, strict=True):
        style = {"healthy": None, "running": None, "not started": "yellow"}.get(row[2], "red")
        con.print(line, style=style)
    return 0 if healthy else 1


def _local_cluster_rows(kubeconfig_path: Path, server: str, rows: list[list[str]]) -> bool:
    """Rows for a ``kctl up`` cluster whose data dir holds this kubeconfig."""
    state = load_state(kubeconfig_path.parent) if kubeconfig_path.parent.is_dir() else None
    if state is None or state.plan.api_url.rstrip("/") != server.rstrip("/"):
        return True
    healthy = True
    plan = state.plan
    with httpx.Client(timeout=3.0) as http:
        code, body, took = _timed_get(http, f"{plan.nats_monitor_url}/healthz",
                                      {"js-enabled-only": "true"})
        good = code == 200
        msg = body.strip()[:80]
        if good:
            jcode, jbody, _ = _timed_get(http, f"{plan.nats_monitor_url}/jsz")
            if jcode == 200:
                try:
                    j = httpx.Response(200, content=jbody).json()
                    msg = (f"JetStream: {j.get('streams', 0)} streams, "
                           f"{j.get('messages', 0)} messages, {j.get('bytes', 0)} bytes")
                except ValueError:
                    pass
        healthy &= good
        rows.append(["nats (JetStream store)", plan.nats_url, "healthy" if good else "unhealthy",
                     _ms(took), msg])
    for rec in state.processes:
        if rec.component in ("nats", "apiserver"):
            continue
        up = alive(rec.pid) and is_ours(rec)
        healthy &= up
        rows.append([rec.name, rec.endpoint or "-", "running" if up else "not running", "",
                     f"pid {rec.pid}, log {rec.log}"])
    for s in state.skipped:
        rows.append([s["component"], "-", "not started", "", s["reason"]])
    return healthy

