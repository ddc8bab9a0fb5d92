"""A pod's configMap/secret/projected volume files on the host: each file is replaced in one
rename (a reader holding the old file keeps reading it whole), has exactly the mode asked for
whatever the umask, and a file the content no longer has is removed (with a directory it
emptied); an item path leaving the volume is refused before anything is written; a temporary
file an interrupted write left behind does not survive the next write."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from jetkube.services.kubelet.envvars import ConfigError
from jetkube.services.kubelet.volumes import PodVolumes, write_atomically


class Objects:
    """The ConfigMaps a pod's volumes read (no API: nothing here asks for a token)."""

    api: Any = None

    def __init__(self, data: dict[str, bytes]) -> None:
        self.files = data

    async def data(self, resource: str, namespace: str, name: str) -> dict[str, bytes] | None:
        return dict(self.files)


def pod(items: list[dict[str, Any]] | None = None, mode: int | None = None) -> dict[str, Any]:
    cm: dict[str, Any] = {"name": "conf"}
    if items is not None:
        cm["items"] = items
    if mode is not None:
        cm["defaultMode"] = mode
    return {"metadata": {"name": "p", "namespace": "default", "uid": "u-1"},
            "spec": {"volumes": [{"name": "conf", "configMap": cm}],
                     "containers": [{"name": "c", "image": "i"}]}}


async def prepare(vols: PodVolumes) -> Path:
    await vols.prepare(pod_ip="", host_ip="", allocatable={}, used=set())
    return Path(vols.paths["conf"])


def listing(d: Path) -> list[str]:
    return sorted(str(p.relative_to(d)) for p in d.rglob("*"))


async def test_a_file_the_content_no_longer_has_is_removed_with_its_emptied_dir(
        tmp_path: Path) -> None:
    objects = Objects({"a": b"1", "b": b"2"})
    vols = PodVolumes(tmp_path, pod([{"key": "a", "path": "a"},
                                     {"key": "b", "path": "sub/deeper/b"}]), objects)  # type: ignore[arg-type]
    d = await prepare(vols)
    assert listing(d) == ["a", "sub", "sub/deeper", "sub/deeper/b"]
    vols.pod = pod([{"key": "a", "path": "a"}])
    d = await prepare(vols)
    assert listing(d) == ["a"]
    objects.files = {"a": b"one", "c": b"3"}
    vols.pod = pod()
    d = await prepare(vols)
    assert listing(d) == ["a", "c"] and (d / "a").read_bytes() == b"one"
    vols.remove()


async def test_a_reader_of_the_old_file_keeps_it_whole_and_no_temporary_file_is_left(
        tmp_path: Path) -> None:
    objects = Objects({"a": b"old" * 1000})
    vols = PodVolumes(tmp_path, pod(), objects)  # type: ignore[arg-type]
    d = await prepare(vols)
    reader = os.open(d / "a", os.O_RDONLY)
    try:
        before = os.fstat(reader).st_ino
        objects.files = {"a": b"new"}
        await prepare(vols)
        assert os.read(reader, 10_000) == b"old" * 1000
    finally:
        os.close(reader)
    assert (d / "a").read_bytes() == b"new"
    assert os.stat(d / "a").st_ino != before  # replaced by a rename, not written in place
    assert listing(d) == ["a"]
    vols.remove()


async def test_modes_are_exact_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        vols = PodVolumes(tmp_path, pod([{"key": "a", "path": "a"},
                                         {"key": "b", "path": "b", "mode": 0o600}],
                                        mode=0o644), Objects({"a": b"1", "b": b"2"}))  # type: ignore[arg-type]
        d = await prepare(vols)
    finally:
        os.umask(old)
    assert (d / "a").stat().st_mode & 0o7777 == 0o644
    assert (d / "b").stat().st_mode & 0o7777 == 0o600
    vols.remove()


@pytest.mark.parametrize("bad", ["../escape", "a/../../escape", "/etc/escape", "", "."])
async def test_an_item_path_leaving_the_volume_is_refused_before_any_write(
        tmp_path: Path, bad: str) -> None:
    vols = PodVolumes(tmp_path, pod([{"key": "a", "path": "fine"}, {"key": "b", "path": bad}]),
                      Objects({"a": b"1", "b": b"2"}))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="invalid item path"):
        await prepare(vols)
    assert not (tmp_path / "escape").exists()
    assert not any(name.endswith("fine") for name in listing(tmp_path))
    vols.remove()


def test_a_temporary_file_left_by_an_interrupted_write_is_replaced(tmp_path: Path) -> None:
    (tmp_path / ".a.tmp").write_bytes(b"half")
    os.chmod(tmp_path / ".a.tmp", 0o666)
    write_atomically(str(tmp_path / "a"), b"whole", 0o640)
    assert (tmp_path / "a").read_bytes() == b"whole"
    assert (tmp_path / "a").stat().st_mode & 0o7777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]


async def test_removing_the_volumes_cancels_the_pending_token_refresh(tmp_path: Path) -> None:
    vols = PodVolumes(tmp_path, pod(), Objects({"a": b"1"}))  # type: ignore[arg-type]
    await prepare(vols)
    vols._schedule_refresh(vols.tokens.clock() + 3600)
    timer = vols._refresh_timer
    assert timer is not None and not timer.cancelled()
    vols.remove()
    assert timer.cancelled()
    assert not (tmp_path / "pods" / "u-1").exists()
