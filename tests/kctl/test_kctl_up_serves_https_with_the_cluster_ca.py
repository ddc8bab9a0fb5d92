"""HTTPS by default: ``kctl up`` plans ``https://`` API servers started with a serving
certificate from the cluster CA (SANs as kube-apiserver's: the address, this host, the
``kubernetes`` Service's ClusterIP and DNS names), writes the CA into the kubeconfig as
``certificate-authority-data``, and kctl checks the server's certificate against it;
plain HTTP only with ``--insecure-http``."""

from __future__ import annotations

import base64
import socket
import ssl
from pathlib import Path

import pytest
from cryptography import x509

from jetkube.cli import kubeconfig
from jetkube.cli.components import COMPONENTS
from jetkube.cli.errors import CliError
from jetkube.cli.pki import ensure_ca, ensure_serving_cert
from jetkube.cli.plan import Plan

APISERVER = next(c for c in COMPONENTS if c.name == "apiserver")


def test_the_api_is_https_unless_plain_http_is_asked_for(tmp_path: Path) -> None:
    secure, plain = Plan(data_dir=tmp_path), Plan(data_dir=tmp_path, insecure_http=True)
    assert secure.api_url == "https://127.0.0.1:6443"
    assert plain.api_url == "http://127.0.0.1:6443"
    argv = APISERVER.argv(secure, 0)
    assert argv[argv.index("--tls-cert-file") + 1] == str(tmp_path / "pki" / "apiserver.crt")
    assert argv[argv.index("--tls-private-key-file") + 1] == str(tmp_path / "pki" /
                                                                  "apiserver.key")
    assert "--tls-cert-file" not in APISERVER.argv(plain, 0)


def test_the_serving_certificate_names_what_clients_dial(tmp_path: Path) -> None:
    plan = Plan(data_dir=tmp_path, service_cidr="10.97.0.0/16", cluster_domain="corp.local")
    crt, _ = ensure_serving_cert(plan.pki_dir, "apiserver", plan.api_hosts)
    san = x509.load_pem_x509_certificate(crt.read_bytes()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    ips = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    names = set(san.get_values_for_type(x509.DNSName))
    assert {"127.0.0.1", "10.97.0.1"} <= ips
    assert {"localhost", socket.gethostname(), "kubernetes", "kubernetes.default",
            "kubernetes.default.svc", "kubernetes.default.svc.corp.local"} <= names


def test_the_kubeconfig_carries_the_ca_and_kctl_checks_against_it(tmp_path: Path) -> None:
    ca = ensure_ca(tmp_path / "pki")
    pem = ca.cert.read_bytes()
    cfg = kubeconfig.new_config(server="https://127.0.0.1:6443", token="t", ca_pem=pem)
    entry = cfg["clusters"][0]["cluster"]
    assert base64.b64decode(entry["certificate-authority-data"]) == pem
    verify = kubeconfig.tls_verify(entry)
    assert isinstance(verify, ssl.SSLContext) and verify.verify_mode == ssl.CERT_REQUIRED
    assert verify.check_hostname
    trusted = {c["subject"] for c in verify.get_ca_certs()}
    assert len(trusted) == 1, "only the cluster CA is trusted, not the system's"


def test_a_kubeconfig_says_how_the_server_is_checked() -> None:
    assert kubeconfig.tls_verify({"server": "https://x"}) is True  # the system's CAs
    assert kubeconfig.tls_verify({"insecure-skip-tls-verify": True}) is False
    with pytest.raises(CliError, match="certificate authority"):
        kubeconfig.tls_verify({"certificate-authority-data": "bm90IGEgY2VydA=="})
    with pytest.raises(CliError, match="certificate authority"):
        kubeconfig.tls_verify({"certificate-authority": "/nonexistent/ca.crt"})
