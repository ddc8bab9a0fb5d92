"""Fixtures of kctl's tests: the fake API (``api``), kctl run against it (``kctl``), a
LocalCluster (``cluster``), and kctl's clock frozen at kctl_tables.NOW (``frozen_clock``).

The helpers themselves are in kctl_fakeapi.py, kctl_fakeapps.py, kctl_localcluster.py
and kctl_tables.py.  A module whose tests need the apps-aware fake sets
``pytestmark = pytest.mark.fake_api(cls=AppsFakeApi)``; ``api`` is a plain FakeApi otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kctl_fakeapi import FakeApi, Kctl, write_kubeconfig
from kctl_localcluster import LocalCluster
from kctl_tables import NOW


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "fake_api(cls=...): the FakeApi subclass that kctl's api fixture makes")


@pytest.fixture(name="api")
def api_fixture(request: pytest.FixtureRequest) -> FakeApi:
    marker = request.node.get_closest_marker("fake_api")
    cls: type[FakeApi] = marker.kwargs["cls"] if marker else FakeApi
    return cls()


@pytest.fixture(name="kctl")
def kctl_fixture(api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Kctl:
    return Kctl(api, write_kubeconfig(tmp_path / "kubeconfig"), capsys)


@pytest.fixture(name="cluster")
def cluster_fixture(monkeypatch: pytest.MonkeyPatch,
                    capsys: pytest.CaptureFixture[str]) -> Iterator[LocalCluster]:
    monkeypatch.setenv("KUBECONFIG", "/nonexistent")
    c = LocalCluster(capsys)
    yield c
    c.close()


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """kctl's clock stands still at kctl_tables.NOW (use: pytest.mark.usefixtures)."""
    from jetkube.services.machinery.printers import _timefmt

    monkeypatch.setattr(_timefmt, "now", lambda: NOW)
