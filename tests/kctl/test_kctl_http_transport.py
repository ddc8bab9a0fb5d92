"""kctl's own HTTP transport (cli/_http.py, issue 16): the REST client over http.client
+ ssl against a real server on 127.0.0.1 (tests/kctl/kctl_httpserver.py): TLS checked
against the kubeconfig's CA, the bearer token, a client certificate (the kubeconfig's
too), Kubernetes Status
errors and kubectl's connection messages, keep-alive within one client, watches
streamed from a chunked body, and proxies taken from the environment as kubectl takes
them."""

from __future__ import annotations

import base64
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from kctl_httpserver import FORBIDDEN, PODS, ConnectProxy, TlsApi

from jetkube.cli._http_proxy import proxy_for
from jetkube.cli.client import HttpApiClient
from jetkube.cli.errors import ConnectionRefused, error_line
from jetkube.cli.kubeconfig import new_config, tls_verify, write_file
from jetkube.cli.main import run
from jetkube.cli.pki import ensure_serving_cert
from jetkube.services.machinery.apimachinery.apierrors import ApiError

PODS_PATH = "/api/v1/namespaces/default/pods"
_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy",
               "ALL_PROXY", "all_proxy")


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TlsApi]:
    with TlsApi(tmp_path / "pki") as server:
        yield server


def _verify_with(ca: Path) -> ssl.SSLContext | bool:
    """The check a kubeconfig with this CA as certificate-authority-data asks for."""
    return tls_verify({"certificate-authority-data": base64.b64encode(ca.read_bytes()).decode()})


def test_a_list_goes_over_https_checked_against_the_kubeconfigs_ca_with_the_token(
        api: TlsApi) -> None:
    with HttpApiClient(api.url, "tok-1", verify=_verify_with(api.ca)) as c:
        got = c.get(PODS_PATH, {"labelSelector": "app=web,tier!=db", "limit": "5"})
    assert got == PODS
    [seen] = api.seen
    assert seen.headers["authorization"] == "Bearer tok-1"
    assert seen.headers["accept"] == "application/json"
    assert seen.headers["traceparent"].startswith("00-")
    assert seen.query == {"labelSelector": ["app=web,tier!=db"], "limit": ["5"]}


def test_a_body_is_sent_as_json_with_its_content_type(api: TlsApi) -> None:
    with HttpApiClient(api.url, "t", verify=_verify_with(api.ca)) as c:
        got = c.create(PODS_PATH, {"metadata": {"name": "x"}})
    assert got == {"metadata": {"name": "x"}}
    assert api.seen[0].headers["content-type"] == "application/json"


def test_a_server_certificate_from_another_ca_is_not_trusted(api: TlsApi, tmp_path: Path) -> None:
    ensure_serving_cert(tmp_path / "other", "x", ["127.0.0.1"])
    with HttpApiClient(api.url, "t", verify=_verify_with(tmp_path / "other" / "ca.crt")) as c, \
            pytest.raises(ConnectionRefused) as err:
        c.get(PODS_PATH)
    assert api.seen == []
    assert err.value.message.startswith(f"The connection to the server 127.0.0.1:{api.port} "
                                        "was refused")


def test_no_verification_accepts_any_certificate(api: TlsApi) -> None:
    with HttpApiClient(api.url, "t", verify=False) as c:
        assert c.get(PODS_PATH) == PODS


def test_a_client_certificate_in_the_context_is_presented(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    with TlsApi(pki, require_client_cert=True) as server:
        crt, key = ensure_serving_cert(pki, "alice", ["127.0.0.1"], peer=True)
        ctx = _verify_with(server.ca)
        assert isinstance(ctx, ssl.SSLContext)
        ctx.load_cert_chain(crt, key)
        with HttpApiClient(server.url, None, verify=ctx) as c:
            assert c.get(PODS_PATH) == PODS
        assert server.seen[0].peer_cn == "alice"
        assert "authorization" not in server.seen[0].headers
        # without it the server ends the handshake: no request is served
        with HttpApiClient(server.url, None, verify=_verify_with(server.ca)) as c, \
                pytest.raises(ConnectionRefused):
            c.get(PODS_PATH)
        assert len(server.seen) == 1


@pytest.mark.parametrize("inline", [True, False])
def test_kctl_logs_in_with_the_kubeconfigs_client_certificate(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], inline: bool) -> None:
    pki = tmp_path / "pki"
    with TlsApi(pki, require_client_cert=True) as server:
        crt, key = ensure_serving_cert(pki, "alice", ["127.0.0.1"], peer=True)
        user: dict[str, str] = (
            {"client-certificate-data": base64.b64encode(crt.read_bytes()).decode(),
             "client-key-data": base64.b64encode(key.read_bytes()).decode()} if inline
            else {"client-certificate": str(crt), "client-key": str(key)})
        config = new_config(server=server.url, token="unused", ca_pem=server.ca.read_bytes())
        config["users"][0]["user"] = user
        write_file(tmp_path / "kubeconfig", config)
        code = run(["--kubeconfig", str(tmp_path / "kubeconfig"), "get", "pods", "-o", "name"])
    out, err = capsys.readouterr()
    assert (code, out, err) == (0, "pod/web\n", "")
    assert {s.peer_cn for s in server.seen} == {"alice"}
    assert all("authorization" not in s.headers for s in server.seen)


def test_a_client_certificate_without_its_key_is_kubectls_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = new_config(server="https://127.0.0.1:1", token="unused")
    config["users"][0]["user"] = {"client-certificate": str(tmp_path / "c.crt")}
    write_file(tmp_path / "kubeconfig", config)
    assert run(["--kubeconfig", str(tmp_path / "kubeconfig"), "get", "pods"]) == 1
    assert capsys.readouterr().err == ("error: client-key-data or client-key must be specified "
                                       "for admin to use the clientCert authentication method.\n")


def test_a_status_body_is_raised_as_kubectl_prints_it(api: TlsApi) -> None:
    with HttpApiClient(api.url, "t", verify=_verify_with(api.ca)) as c, \
            pytest.raises(ApiError) as err:
        c.get("/forbidden")
    assert (err.value.code, err.value.reason) == (403, "Forbidden")
    assert error_line(err.value) == f"Error from server (Forbidden): {FORBIDDEN['message']}"


def test_an_error_without_a_status_names_the_code_and_the_text(api: TlsApi) -> None:
    with HttpApiClient(api.url, "t", verify=_verify_with(api.ca)) as c, \
            pytest.raises(ApiError) as err:
        c.get("/broken")
    assert (err.value.code, err.value.reason) == (500, "InternalError")
    assert err.value.message == ("the server responded with the status code 500 but did not "
                                 "return more information (boom)")


def test_text_returns_the_status_and_body_without_raising(api: TlsApi) -> None:
    with HttpApiClient(api.url, "t", verify=_verify_with(api.ca)) as c:
        code, body = c.text("/broken")
    assert (code, body) == (500, "boom")


def test_a_refused_connection_is_kubectls_message() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: refused
        with HttpApiClient(f"https://127.0.0.1:{port}", "t") as c, \
                pytest.raises(ConnectionRefused) as err:
            c.get(PODS_PATH)
    assert err.value.message == (
        f"The connection to the server 127.0.0.1:{port} was refused - did you specify the "
        "right host or port? (start a cluster with: kctl up)")


def test_requests_of_one_client_share_one_connection(api: TlsApi) -> None:
    with HttpApiClient(api.url, "t", verify=_verify_with(api.ca)) as c:
        for _ in range(3):
            c.get(PODS_PATH)
        with pytest.raises(ApiError):
            c.get("/forbidden")
        c.get(PODS_PATH)
    assert len({s.connection for s in api.seen}) == 1


def test_a_connection_the_server_closed_is_replaced(api: TlsApi) -> None:
    api.behaviour.close_after = True  # closes after each answer, without saying so
    with HttpApiClient(api.url, "t", verify=_verify_with(api.ca)) as c:
        assert [c.get(PODS_PATH) for _ in range(3)] == [PODS] * 3
    assert len({s.connection for s in api.seen}) == 3


def test_a_watch_yields_each_event_as_it_arrives(api: TlsApi) -> None:
    with HttpApiClient(api.url, "t", verify=_verify_with(api.ca)) as c:
        events = c.watch(PODS_PATH, {"resourceVersion": "7"})
        first = next(events)
        api.behaviour.release.set()  # the server sends the rest only now
        rest = list(events)
        assert c.get(PODS_PATH) == PODS  # the connection is free again once the watch ended
    assert api.behaviour.released_in_time == [True]
    assert [e["type"] for e in [first, *rest]] == ["ADDED", "MODIFIED", "DELETED"]
    assert api.seen[0].query == {"resourceVersion": ["7"], "watch": ["true"]}


def test_a_stream_yields_lines_as_they_arrive(api: TlsApi) -> None:
    with HttpApiClient(api.url, "t", verify=_verify_with(api.ca)) as c, \
            c.stream("GET", PODS_PATH, {"watch": "true"}) as resp:
        lines = resp.iter_lines()
        assert '"ADDED"' in next(lines)
        api.behaviour.release.set()
        assert len(list(lines)) == 2
    assert api.behaviour.released_in_time == [True]


def test_a_watch_that_hears_nothing_within_its_timeout_ends_quietly(api: TlsApi) -> None:
    with HttpApiClient(api.url, "t", verify=_verify_with(api.ca)) as c:
        assert list(c.watch("/quiet", timeout=0.3)) == []


def test_https_goes_through_the_environments_proxy_with_connect(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with TlsApi(tmp_path / "pki", hosts=("api.jetkube.test",)) as server, \
            ConnectProxy(server.port) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", f"http://u%40x:p%3Aw@127.0.0.1:{proxy.port}")
        url = f"https://api.jetkube.test:{server.port}"
        with HttpApiClient(url, "t", verify=_verify_with(server.ca)) as c:
            assert c.get(PODS_PATH) == PODS
    creds = base64.b64encode(b"u@x:p:w").decode()
    assert proxy.asked == [(f"CONNECT api.jetkube.test:{server.port} HTTP/1.0", f"Basic {creds}")]


def test_loopback_and_no_proxy_hosts_go_direct(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "proxy.corp:3128")
    monkeypatch.setenv("NO_PROXY", "internal.corp,.svc.local,10.0.0.0/8,api.other:6443")
    for host in ("127.0.0.1", "localhost", "::1", "internal.corp", "a.internal.corp",
                 "x.svc.local", "10.1.2.3"):
        assert proxy_for("https", host, 6443) is None, host
    assert proxy_for("https", "api.other", 6443) is None
    for host, port in (("example.com", 6443), ("api.other", 443), ("11.0.0.1", 6443)):
        p = proxy_for("https", host, port)
        assert p is not None and (p.host, p.port) == ("proxy.corp", 3128), host
    assert proxy_for("http", "example.com", 80) is None  # HTTP_PROXY is not set
    monkeypatch.setenv("NO_PROXY", "*")
    assert proxy_for("https", "example.com", 6443) is None
