"""kubeconfig resolution order, overrides, and kctl config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kctl_fakeapi import FakeApi, Kctl, write_kubeconfig

from jetkube.cli import kubeconfig
from jetkube.cli.errors import CliError


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("JETKUBE_DATA_DIR", raising=False)
    (tmp_path / "home" / ".jetkube").mkdir(parents=True)
    return tmp_path / "home"


def server_of(explicit: str | None = None) -> str:
    return kubeconfig.resolve(kubeconfig.load(explicit)).server


def test_default_is_the_data_dir_kubeconfig(home: Path) -> None:
    write_kubeconfig(home / ".jetkube" / "kubeconfig", server="http://127.0.0.1:1")
    assert server_of() == "http://127.0.0.1:1"


def test_missing_everything_falls_back_to_localhost_6443(home: Path) -> None:
    cfg = kubeconfig.resolve(kubeconfig.load())
    assert (cfg.server, cfg.token, cfg.namespace) == ("https://127.0.0.1:6443", None, "default")


def test_data_dir_env_beats_home(home: Path, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    write_kubeconfig(home / ".jetkube" / "kubeconfig", server="http://127.0.0.1:1")
    (tmp_path / "dd").mkdir()
    write_kubeconfig(tmp_path / "dd" / "kubeconfig", server="http://127.0.0.1:2")
    monkeypatch.setenv("JETKUBE_DATA_DIR", str(tmp_path / "dd"))
    assert server_of() == "http://127.0.0.1:2"


def test_kubeconfig_env_beats_defaults_and_merges_first_wins(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_kubeconfig(home / ".jetkube" / "kubeconfig", server="http://127.0.0.1:1")
    a = write_kubeconfig(tmp_path / "a", server="http://127.0.0.1:3")
    b = write_kubeconfig(tmp_path / "b", server="http://127.0.0.1:4")
    monkeypatch.setenv("KUBECONFIG", f"{a}:{b}")
    assert server_of() == "http://127.0.0.1:3"


def test_flag_beats_env(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = write_kubeconfig(tmp_path / "a", server="http://127.0.0.1:3")
    f = write_kubeconfig(tmp_path / "f", server="http://127.0.0.1:5")
    monkeypatch.setenv("KUBECONFIG", str(a))
    assert server_of(str(f)) == "http://127.0.0.1:5"
    with pytest.raises(CliError):
        kubeconfig.load(str(tmp_path / "missing"))


def test_namespace_flag_overrides_the_context(tmp_path: Path) -> None:
    kc = kubeconfig.load(str(write_kubeconfig(tmp_path / "k", namespace="team")))
    assert kubeconfig.resolve(kc).namespace == "team"
    cfg = kubeconfig.resolve(kc, namespace="other")
    assert cfg.namespace == "other" and cfg.namespace_explicit
    assert cfg.token == "secret-token"


def test_requests_carry_the_token_and_namespace(api: FakeApi, kctl: Kctl) -> None:
    kctl("get", "pods", "-n", "team")
    req = api.requests[-1]
    assert req.headers["authorization"] == "Bearer secret-token"
    assert req.url.path == "/api/v1/namespaces/team/pods"


def test_config_view_redacts_and_use_context_writes(kctl: Kctl) -> None:
    code, out, _ = kctl("config", "view")
    assert code == 0 and yaml.safe_load(out)["users"][0]["user"]["token"] == "REDACTED"
    assert yaml.safe_load(kctl("config", "view", "--raw")[1])["users"][0]["user"]["token"] == \
        "secret-token"
    assert kctl("config", "current-context")[1].strip() == "test"
    assert kctl("config", "use-context", "nope")[0] == 1
    assert kctl("config", "set-context", "--current", "--namespace", "team")[0] == 0
    data = yaml.safe_load(kctl.kubeconfig.read_text())
    assert data["contexts"][0]["context"]["namespace"] == "team"
    assert kctl("config", "use-context", "test")[1].strip() == 'Switched to context "test".'
