"""Before and after the fuzz (bench/fuzz.py): the namespace ``fuzz`` and one target object
of each resource made first; why an outcome is a failure; and the checks afterwards
(the namespaces intact, no Deployment stored with out-of-range replicas, how many
objects a list holds).
"""

from __future__ import annotations

from _cluster import service_account
from _fuzz_case import NS, RESOURCES, TARGET, Outcome, obj
from _fuzz_http import call

__all__ = ["checks", "count", "failure_of", "setup"]


def failure_of(out: Outcome) -> str:
    """Why ``out`` is a failure, or "" when it is not."""
    if out.error == "hang":
        return "hang"
    if out.error:
        return "connection error"
    if out.status >= 500:
        return "5xx"
    if b"Traceback" in out.body:
        return "traceback in the body"
    if out.case.refuse and 200 <= out.status < 300:
        return "hostile value accepted"
    return ""


async def setup(port: int) -> None:
    code, out = await call(port, "POST", "/api/v1/namespaces",
                           {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    assert code == 201, (code, out)
    code, out = await call(port, "POST", f"/api/v1/namespaces/{NS}/serviceaccounts",
                           service_account(NS))
    assert code == 201, (code, out)
    for r, path in RESOURCES.items():
        code, out = await call(port, "POST", path, obj(r, TARGET))
        assert code == 201, (r, code, out)


async def checks(port: int) -> list[str]:
    """After the fuzz: the namespaces are intact and no Deployment holds out-of-range
    replicas (each one found is deleted).  Returns the failures found."""
    found: list[str] = []
    for ns in (NS, "default", "kube-system"):
        code, out = await call(port, "GET", f"/api/v1/namespaces/{ns}")
        if code != 200 or not isinstance(out, dict) or out["metadata"].get("deletionTimestamp"):
            found.append(f"namespace {ns} is gone or being deleted: {code} {str(out)[:200]}")
    code, out = await call(port, "GET", RESOURCES["deployments"])
    for d in out.get("items", []) if isinstance(out, dict) else []:
        replicas = d.get("spec", {}).get("replicas")
        if replicas is not None and not (isinstance(replicas, int) and 0 <= replicas <= 10):
            name = d["metadata"]["name"]
            found.append(f"Deployment {name} stored with replicas {replicas!r} (deleted)")
            await call(port, "DELETE", f"{RESOURCES['deployments']}/{name}")
    return found


async def count(port: int, path: str) -> int:
    """How many objects a list of ``path`` holds (-1: the list failed)."""
    code, out = await call(port, "GET", path)
    return len(out.get("items") or []) if code == 200 and isinstance(out, dict) else -1
