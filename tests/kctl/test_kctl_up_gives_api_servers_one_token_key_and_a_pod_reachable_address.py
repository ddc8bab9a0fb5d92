"""``kctl up`` starts every API server with the same ServiceAccount signing key
(``DIR/pki/sa.key``, EC P-256, 0600, made once and kept), so each verifies the others'
tokens, and with an ``--advertise-address`` pods reach: ``--api-advertise-address`` when
given, Docker's default bridge gateway for Docker nodes, else the host."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from jetkube.cli import components
from jetkube.cli.components import COMPONENTS
from jetkube.cli.pki import ensure_service_account_key
from jetkube.cli.plan import Plan
from jetkube.services.apiserver.tokens import TokenIssuer

APISERVER = next(c for c in COMPONENTS if c.name == "apiserver")


def flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_every_api_server_signs_with_the_one_key_of_the_data_dir(tmp_path: Path) -> None:
    plan = Plan(data_dir=tmp_path, ha=True, runtime="sim")
    keys = {flag(APISERVER.argv(plan, i), "--service-account-signing-key-file")
            for i in range(plan.control_plane_replicas)}
    assert keys == {str(tmp_path / "pki" / "sa.key")}
    ensure_service_account_key(plan.sa_key)
    first = plan.sa_key.read_bytes()
    assert stat.S_IMODE(plan.sa_key.stat().st_mode) == 0o600
    ensure_service_account_key(plan.sa_key)  # kept: tokens survive a restart
    assert plan.sa_key.read_bytes() == first
    TokenIssuer(first)  # a P-256 key the API server accepts


def test_the_advertised_address_is_one_pods_reach(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    given = Plan(data_dir=tmp_path, api_advertise_address="192.0.2.7")
    assert flag(APISERVER.argv(given, 0), "--advertise-address") == "192.0.2.7"
    sim = Plan(data_dir=tmp_path, runtime="sim", nodes=1)
    assert flag(APISERVER.argv(sim, 0), "--advertise-address") == "127.0.0.1"

    class Network:
        attrs = {"IPAM": {"Config": [{"Subnet": "172.18.0.0/16", "Gateway": "172.18.0.1"}]}}

    class Networks:
        def get(self, name: str) -> Network:
            assert name == "bridge"
            return Network()

    class Client:
        networks = Networks()

    import docker

    monkeypatch.setattr(docker, "from_env", lambda **_: Client())
    on_docker = Plan(data_dir=tmp_path, runtime="docker", nodes=1)
    assert components.advertise_address(on_docker) == "172.18.0.1"
