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
from collections.abc import Callable
from typing import Any

from jetkube import __version__

from ..console import echo, out
from ..context import Ctx
from ..errors import CliError
from ..tables import render

# Imported in the functions that need them, so ``kctl version --client`` stays light: the
# API errors (their package brings the schemas), the local cluster's probes (httpx) and
# the output formats.


def client_version() -> str:
    """``v`` + jetkube's version, as the API server's ``/version`` names it; not read from
    the installed package's metadata (importlib.metadata alone would add tens of ms to
    ``kctl version``); tests/kctl/test_kctl_startup_is_lazy.py checks the two agree."""
    return "v" + __version__


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
        from jetkube.services.machinery.apimachinery.apierrors import ApiError

        try:
            doc["serverVersion"] = ctx.client.get("/version")
        except (ApiError, CliError) as e:
            server_err = e
    if a.output == "json":
        from ..output import to_json

        echo(to_json(doc))
    elif a.output == "yaml":
        from ..output import to_yaml

        echo(to_yaml(doc).rstrip())
    else:
        echo(f"Client Version: {cv['gitVersion']}")
        if "serverVersion" in doc:
            echo(f"Server Version: {doc['serverVersion'].get('gitVersion', '<unknown>')}")
    if server_err is not None:
        raise server_err
    return 0


def run_cluster_info(ctx: Ctx) -> int:
    from jetkube.services.machinery.apimachinery.apierrors import ApiError

    from ..localinfo import local_cluster_rows, ms

    cfg = ctx.config
    rows: list[list[str]] = []
    healthy = True
    t0 = time.monotonic()
    code, body = ctx.client.text("/healthz", timeout=5)
    took = time.monotonic() - t0
    echo(f"Kubernetes control plane is running at {cfg.server}")
    ok = code == 200
    healthy &= ok
    rows.append(["apiserver", cfg.server, "healthy" if ok else "unhealthy", ms(took),
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
    healthy &= local_cluster_rows(cfg.kubeconfig.path, cfg.server, _lease_getter(ctx), rows)
    echo("")
    con = out()
    lines = render(["COMPONENT", "ENDPOINT", "HEALTH", "TOOK", "MESSAGE"], rows)
    echo(lines[0])
    for line, row in zip(lines[1:], rows, strict=True):
        style = {"healthy": None, "running": None, "not started": "yellow"}.get(row[2], "red")
        con.print(line, style=style)
    return 0 if healthy else 1


def _lease_getter(ctx: Ctx) -> Callable[[str], dict[str, Any] | None]:
    from jetkube.services.machinery.apimachinery.apierrors import ApiError

    def get(name: str) -> dict[str, Any] | None:
        try:
            lease: dict[str, Any] = ctx.client.get(
                f"/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/{name}")
            return lease
        except ApiError:
            return None
    return get
