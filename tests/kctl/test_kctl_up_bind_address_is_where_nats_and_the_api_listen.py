"""``kctl up --bind-address ADDR`` (Plan.host, default 127.0.0.1): NATS and the API servers
listen there, every component, kctl and the kubeconfig reach them there, and both serving
certificates name it, so node agents on other machines can join (``kctl
node-credentials``); an explicit ``--advertise-address`` is in the API certificate too.
Wildcards and names are refused: the address is also what clients connect to."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from jetkube.cli.bussecurity import ensure_bus_security
from jetkube.cli.components import COMPONENTS, network_problem
from jetkube.cli.main import build_parser
from jetkube.cli.pki import ensure_serving_cert
from jetkube.cli.plan import Plan

ADDR = "192.0.2.7"
APISERVER = next(c for c in COMPONENTS if c.name == "apiserver")


def ip_sans(cert: Path) -> set[str]:
    san = x509.load_pem_x509_certificate(cert.read_bytes()).extensions \
        .get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}


def test_nats_and_the_api_servers_listen_on_the_bind_address_and_their_certificates_name_it(
        tmp_path: Path) -> None:
    plan = Plan(data_dir=tmp_path, host=ADDR, api_advertise_address="192.0.2.8")
    ensure_bus_security(plan)
    conf = plan.nats_conf.read_text()
    assert f'listen: "{ADDR}:4222"' in conf and f'http: "{ADDR}:8222"' in conf
    assert plan.nats_url == f"nats://{ADDR}:4222"
    assert plan.api_url == f"https://{ADDR}:6443"
    argv = APISERVER.argv(plan, 0)
    assert argv[argv.index("--bind") + 1] == ADDR
    assert ADDR in ip_sans(plan.pki_dir / "nats.crt")
    crt, _ = ensure_serving_cert(plan.pki_dir, "apiserver", plan.api_hosts)
    assert {ADDR, "192.0.2.8", "127.0.0.1"} <= ip_sans(crt)


def test_the_default_stays_loopback_and_the_flag_sets_it() -> None:
    assert Plan(data_dir=Path("/nonexistent")).host == "127.0.0.1"
    args = build_parser().parse_args(["up", "--bind-address", ADDR, "--advertise-address", "192.0.2.8"])
    assert (args.bind_address, args.api_advertise_address) == (ADDR, "192.0.2.8")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "my-host", ""])
def test_a_wildcard_or_a_name_is_refused_as_bind_address(host: str) -> None:
    problem = network_problem(Plan(data_dir=Path("/nonexistent"), host=host))
    assert problem is not None and "--bind-address" in problem


def test_any_one_address_is_accepted_as_bind_address() -> None:
    for host in ("127.0.0.1", ADDR, "::1"):
        assert network_problem(Plan(data_dir=Path("/nonexistent"), host=host)) is None
