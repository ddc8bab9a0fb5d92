"""One kubeconfig reader (machinery.apimachinery.load_kubeconfig) for kctl and the
services: ``$KUBECONFIG`` is a list merged as kubectl merges it (missing files
skipped, the first file to name a cluster/user/context wins it, current-context
from the first file that sets it), so a token is found in any file of the list, not
only the first."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from jetkube.cli import kubeconfig as kctl_kubeconfig
from jetkube.services.machinery.apimachinery import (
    KubeconfigError,
    kubeconfig_env_paths,
    load_kubeconfig,
)


def env_token() -> str | None:
    """The current context's token, read by machinery's reader from ``$KUBECONFIG``."""
    return load_kubeconfig(kubeconfig_env_paths()).token()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("JETKUBE_TOKEN", raising=False)
    monkeypatch.delenv("JETKUBE_DATA_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def use(monkeypatch: pytest.MonkeyPatch, *paths: Path) -> None:
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(str(p) for p in paths))


def test_the_token_is_found_in_the_second_file(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    first = write(tmp_path / "first", {"current-context": "dev"})
    second = write(tmp_path / "second", {
        "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:7443"}}],
        "users": [{"name": "u", "user": {"token": "second-token"}}],
        "contexts": [{"name": "dev", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "other",  # the first file's current-context wins
    })
    use(monkeypatch, tmp_path / "missing", first, second)
    assert env_token() == "second-token"
    cfg = kctl_kubeconfig.resolve(kctl_kubeconfig.load())
    assert (cfg.context, cfg.token, cfg.server) == ("dev", "second-token", "http://127.0.0.1:7443")


def test_the_first_file_to_name_a_user_wins(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    first = write(tmp_path / "first", {
        "users": [{"name": "u", "user": {"token": "first-token"}}],
        "contexts": [{"name": "dev", "context": {"user": "u"}}],
    })
    second = write(tmp_path / "second", {
        "users": [{"name": "u", "user": {"token": "second-token"}}],
        "current-context": "dev",
    })
    use(monkeypatch, first, second)
    assert env_token() == "first-token"
    assert kctl_kubeconfig.resolve(kctl_kubeconfig.load()).token == "first-token"


def test_no_current_context_means_no_credentials(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # kubectl does not fall back to "the first user" (the services' old reader did)
    use(monkeypatch, write(tmp_path / "k", {
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "dev", "context": {"user": "u"}}]}))
    assert env_token() is None
    assert kctl_kubeconfig.resolve(kctl_kubeconfig.load()).token is None


def test_a_token_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tok").write_text("file-token\n")
    use(monkeypatch, write(tmp_path / "k", {
        "users": [{"name": "u", "user": {"tokenFile": str(tmp_path / "tok")}}],
        "contexts": [{"name": "dev", "context": {"user": "u"}}], "current-context": "dev"}))
    assert env_token() == "file-token"
    assert kctl_kubeconfig.resolve(kctl_kubeconfig.load()).token == "file-token"


def test_a_broken_file_is_an_error_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(KubeconfigError, match="bad"):
        load_kubeconfig([bad])
