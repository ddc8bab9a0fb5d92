"""``kctl down``, ``trace`` and ``store`` find the cluster's data dir from the kubeconfig in
use (issue 16, deliver 5): the directory that holds it and a ``cluster.json``."""

from __future__ import annotations

from pathlib import Path

import pytest

from jetkube.cli.commands.cluster import data_dir_arg, up_data_dir_arg
from jetkube.cli.kubeconfig import cluster_data_dir
from jetkube.cli.main import _parse, build_parser


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No JETKUBE_DATA_DIR, no KUBECONFIG, and a HOME of our own (for ~/.jetkube)."""
    monkeypatch.delenv("JETKUBE_DATA_DIR", raising=False)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _cluster_dir(root: Path, name: str) -> Path:
    d = root / name
    d.mkdir(parents=True)
    (d / "cluster.json").write_text("{}")
    (d / "kubeconfig").write_text("apiVersion: v1\nkind: Config\n")
    return d


def test_the_kubeconfig_env_names_the_cluster_dir(home: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    d = _cluster_dir(tmp_path, "c1")
    monkeypatch.setenv("KUBECONFIG", f"{d / 'kubeconfig'}:{tmp_path / 'other'}")
    assert cluster_data_dir(None) == d.resolve()


def test_an_explicit_kubeconfig_wins_over_the_env(home: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    env_dir, flag_dir = _cluster_dir(tmp_path, "env"), _cluster_dir(tmp_path, "flag")
    monkeypatch.setenv("KUBECONFIG", str(env_dir / "kubeconfig"))
    assert cluster_data_dir(str(flag_dir / "kubeconfig")) == flag_dir.resolve()


def test_a_kubeconfig_without_a_cluster_json_beside_it_falls_back_to_home(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "config").write_text("apiVersion: v1\nkind: Config\n")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "plain" / "config"))
    assert cluster_data_dir(None) == home / ".jetkube"


def test_jetkube_data_dir_wins_over_the_kubeconfig(home: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    d = _cluster_dir(tmp_path, "c1")
    monkeypatch.setenv("KUBECONFIG", str(d / "kubeconfig"))
    monkeypatch.setenv("JETKUBE_DATA_DIR", str(tmp_path / "chosen"))
    assert cluster_data_dir(None) == tmp_path / "chosen"


@pytest.mark.parametrize("argv", [["down"], ["trace", "pod/x"], ["store", "snapshot", "save", "out.tar"],
                                  ["--kubeconfig", "{kc}", "down"]])
def test_commands_on_a_running_cluster_need_no_data_dir(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
    d = _cluster_dir(tmp_path, "c1")
    monkeypatch.setenv("KUBECONFIG", str(d / "kubeconfig"))
    args = _parse(build_parser(), [a.format(kc=d / "kubeconfig") for a in argv])
    assert data_dir_arg(args) == d.resolve()


def test_up_never_takes_its_dir_from_a_kubeconfig(home: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    d = _cluster_dir(tmp_path, "c1")
    monkeypatch.setenv("KUBECONFIG", str(d / "kubeconfig"))
    assert up_data_dir_arg(_parse(build_parser(), ["up"])) == home / ".jetkube"
    assert data_dir_arg(_parse(build_parser(), ["down", "--data-dir", str(tmp_path / "x")])) \
        == (tmp_path / "x").resolve()
