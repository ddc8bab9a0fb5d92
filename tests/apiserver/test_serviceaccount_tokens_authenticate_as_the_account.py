"""ServiceAccount tokens: TokenRequest answers a signed JWT with Kubernetes' claims; the API
server takes it as ``system:serviceaccount:<ns>:<name>`` (RBAC decides: 403 without a
binding, 200 with one); an expired token, a token of a deleted (or recreated) account and a
token bound to a deleted pod are 401 with a Status; another API server with the same key
accepts it; hostile TokenRequests are refused with the field named.  The authenticator reads
accounts and pods from the watch cache, so a change is awaited until the cache has it."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import orjson
import pytest
from apiharness import Api
from polling import until

from jetkube.services.apiserver.admission import AdmissionConfig
from jetkube.services.apiserver.server import ApiServer, ServerConfig
from jetkube.services.apiserver.tokens import TokenIssuer, generate_signing_key
from jetkube.services.machinery.store import MemoryStore, Store

ADMIN = "admin-token"
NS = "/api/v1/namespaces/default"


async def api_on(store: Store, tmp_path: Path, key: Path,
                 on_demand: frozenset[str] = frozenset()) -> Api:
    tokens = tmp_path / "tokens.csv"
    tokens.write_text(f'{ADMIN},admin,admin,"system:masters"\n')
    server = ApiServer(ServerConfig(token_file=tokens, service_account_signing_key_file=key,
                                    admission=AdmissionConfig(service_account=True),
                                    watch_cache_on_demand=on_demand))
    api = Api(await server.build(store, None), server.cache, store)
    api.token = ADMIN
    return api


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "sa.key"
    path.write_bytes(generate_signing_key())
    return path


async def new_sa(api: Api, name: str) -> dict[str, Any]:
    out: dict[str, Any] = await api.ok("POST", f"{NS}/serviceaccounts", {
        "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}})
    return out


async def answers(api: Api, tok: str, code: int, path: str = f"{NS}/pods") -> None:
    """A request with ``tok`` is (eventually, once the watch cache has caught up) ``code``."""
    await until(lambda: api.call("GET", path, token=tok), accept=lambda got: got[0] == code,
                timeout=5, message=f"GET {path} answered {code}")


async def token_for(api: Api, sa: str, **spec: Any) -> str:
    code, tr = await api.call("POST", f"{NS}/serviceaccounts/{sa}/token", {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec})
    assert code == 201, tr
    return str(tr["status"]["token"])


def claims(token: str) -> dict[str, Any]:
    body = token.split(".")[1]
    out: dict[str, Any] = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return out


async def test_a_token_carries_kubernetes_claims_and_rbac_decides_what_it_may_do(
        tmp_path: Path, key: Path) -> None:
    api = await api_on(MemoryStore(), tmp_path, key)
    sa = await new_sa(api, "reader")
    tok = await token_for(api, "reader", expirationSeconds=600)
    c = claims(tok)
    assert c["sub"] == "system:serviceaccount:default:reader"
    assert c["kubernetes.io"]["serviceaccount"] == {"name": "reader",
                                                    "uid": sa["metadata"]["uid"]}
    assert c["aud"] == ["https://kubernetes.default.svc.cluster.local"]
    assert c["exp"] - c["iat"] == 600 and c["nbf"] == c["iat"]

    await answers(api, tok, 403)
    _, st = await api.call("GET", f"{NS}/pods", token=tok)
    assert 'User "system:serviceaccount:default:reader" cannot list' in st["message"]
    who = await api.ok("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", {
        "apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}, token=tok)
    assert set(who["status"]["userInfo"]["groups"]) == {
        "system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"}

    await api.ok("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "reader-view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": "default"}]})
    await answers(api, tok, 200)

    await api.ok("DELETE", f"{NS}/serviceaccounts/reader")
    await answers(api, tok, 401)
    _, st = await api.call("GET", f"{NS}/pods", token=tok)
    assert st["kind"] == "Status" and st["reason"] == "Unauthorized", st
    await new_sa(api, "reader")  # the same name again: another uid
    await until(lambda: "serviceaccounts.default.reader" in api.cache.resource(
        "serviceaccounts").items, message="the new reader in the cache")
    assert (await api.call("GET", f"{NS}/pods", token=tok))[0] == 401


async def test_expired_forged_and_foreign_tokens_are_unauthorized(tmp_path: Path,
                                                                  key: Path) -> None:
    api = await api_on(MemoryStore(), tmp_path, key)
    sa = await new_sa(api, "bot")
    uid = sa["metadata"]["uid"]
    issuer = TokenIssuer(key.read_bytes())  # noqa: ASYNC240 (a small local file)
    expired, _ = issuer.issue(namespace="default", name="bot", uid=uid,
                              expiration_seconds=600, now=1_000_000)
    foreign, _ = TokenIssuer(generate_signing_key()).issue(
        namespace="default", name="bot", uid=uid, expiration_seconds=600)
    good = await token_for(api, "bot")
    head, _, sig = good.split(".")
    forged_claims = {**claims(good), "sub": "system:serviceaccount:kube-system:bot"}
    forged = ".".join((head, base64.urlsafe_b64encode(orjson.dumps(forged_claims)).rstrip(
        b"=").decode(), sig))
    await answers(api, good, 403, "/api/v1/namespaces")  # authenticated, not authorized
    for tok in (expired, foreign, forged, good[:-4] + "AAAA", "eyJ.x.y"):
        code, st = await api.call("GET", "/api/v1/namespaces", token=tok)
        assert code == 401 and st["reason"] == "Unauthorized", (tok, st)


@pytest.mark.parametrize("on_demand", [frozenset(), frozenset({"pods"})],
                         ids=["cached", "pods-on-demand"])
async def test_a_token_bound_to_a_pod_dies_with_the_pod(tmp_path: Path, key: Path,
                                                       on_demand: frozenset[str]) -> None:
    api = await api_on(MemoryStore(), tmp_path, key, on_demand)
    await new_sa(api, "default")
    await api.ok("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "sa-view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "view"},
        "subjects": [{"kind": "Group", "name": "system:serviceaccounts"}]})
    pod = await api.ok("POST", f"{NS}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
    uid = pod["metadata"]["uid"]
    code, st = await api.call("POST", f"{NS}/serviceaccounts/default/token", {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "spec": {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "p",
                                    "uid": "not-" + uid}}})
    assert code == 409, st
    tok = await token_for(api, "default", boundObjectRef={
        "kind": "Pod", "apiVersion": "v1", "name": "p", "uid": uid})
    assert claims(tok)["kubernetes.io"]["pod"] == {"name": "p", "uid": uid}
    await answers(api, tok, 200)
    await api.ok("DELETE", f"{NS}/pods/p", query={"gracePeriodSeconds": "0"})
    await answers(api, tok, 401)


async def test_another_api_server_with_the_same_key_accepts_the_token(tmp_path: Path,
                                                                    key: Path) -> None:
    store = MemoryStore()
    one = await api_on(store, tmp_path, key)
    await new_sa(one, "bot")
    await one.ok("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "bot-view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": "default"}]})
    tok = await token_for(one, "bot")
    two = await api_on(store, tmp_path, key)
    await answers(two, tok, 200)


@pytest.mark.parametrize(("spec", "code", "field"), [
    ({"expirationSeconds": 599}, 422, "spec.expirationSeconds"),
    ({"expirationSeconds": (1 << 32) + 1}, 422, "spec.expirationSeconds"),
    ({"expirationSeconds": "long"}, 400, ""),
    ({"boundObjectRef": {"kind": "Node", "name": "n"}}, 422, "spec.boundObjectRef.kind"),
    ({"audiences": "everyone"}, 400, ""),
])
async def test_hostile_token_requests_are_refused_with_the_field(
        tmp_path: Path, key: Path, spec: dict[str, Any], code: int, field: str) -> None:
    api = await api_on(MemoryStore(), tmp_path, key)
    await new_sa(api, "bot")
    got, st = await api.call("POST", f"{NS}/serviceaccounts/bot/token", {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec})
    assert got == code, st
    assert st["kind"] == "Status"
    if field:
        assert [c["field"] for c in st["details"]["causes"]] == [field], st
    assert (await api.call("POST", f"{NS}/serviceaccounts/missing/token", {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}))[0] == 404


async def test_a_protobuf_token_request_as_kubectl_sends_it(tmp_path: Path, key: Path) -> None:
    """kubectl create token --duration 15m --bound-object-kind Pod: a protobuf TokenRequest
    (numbers spelled here) with an empty status, which the server answers and ignores."""
    from protowire import PROTOBUF, body, i, m, s

    api = await api_on(MemoryStore(), tmp_path, key)
    await new_sa(api, "default")
    pod = await api.ok("POST", f"{NS}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
    proto = body("authentication.k8s.io/v1", "TokenRequest",
                 m(1, s(1, "default"), s(3, "default")),
                 m(2, s(1, "api"), i(4, 900), m(3, s(1, "Pod"), s(2, "v1"), s(3, "p"))),
                 m(3))
    code, tr = await api.call("POST", f"{NS}/serviceaccounts/default/token", proto,
                              content_type=PROTOBUF)
    assert code == 201, tr
    assert tr["spec"]["audiences"] == ["api"] and tr["spec"]["expirationSeconds"] == 900
    c = claims(tr["status"]["token"])
    assert c["aud"] == ["api"] and c["exp"] - c["iat"] == 900
    assert c["kubernetes.io"]["pod"] == {"name": "p", "uid": pod["metadata"]["uid"]}


async def test_a_token_request_reads_the_account_from_the_watch_cache(
        tmp_path: Path, key: Path) -> None:
    """A node agent asks a token per pod: the account comes from the watch cache once it is
    there (no store read), and from the store while the cache has not caught up."""
    api = await api_on(MemoryStore(), tmp_path, key)
    reads: list[str] = []
    handlers = api.front.handlers
    inner = handlers.get_object

    async def get_object(rt: Any, ns: Any, name: str) -> Any:
        reads.append(name)
        return await inner(rt, ns, name)

    handlers.get_object = get_object
    real_cached = handlers.cached_object
    handlers.cached_object = lambda rt, ns, name: None  # the cache has not caught up yet
    sa = await new_sa(api, "early")
    assert claims(await token_for(api, "early"))["kubernetes.io"]["serviceaccount"][
        "uid"] == sa["metadata"]["uid"]
    assert reads == ["early"]
    handlers.cached_object = real_cached
    await until(lambda: api.cache.resource("serviceaccounts").items.get(
        "serviceaccounts.default.early"), message="the account in the watch cache")
    assert claims(await token_for(api, "early"))["kubernetes.io"]["serviceaccount"][
        "uid"] == sa["metadata"]["uid"]
    assert reads == ["early"]
