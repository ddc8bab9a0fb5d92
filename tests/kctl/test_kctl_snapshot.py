"""kctl store snapshot save/restore/status against real nats-servers."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import signal
from pathlib import Path

import pytest

from jetkube.cli.main import run
from jetkube.cli.plan import Plan
from jetkube.cli.procs import ProcRecord, spawn
from jetkube.cli.up import State, save_state
from jetkube.services.machinery.store import NatsStore, connect, snapshot, start_nats_server

pytestmark = pytest.mark.integration


async def _seed(url: str, bucket: str) -> dict[str, bytes]:
    nc = await connect(url)
    try:
        store = await NatsStore.open(nc, bucket)
        rev = await store.create("pods.default.a", b'{"v":1}')
        await store.update("pods.default.a", b'{"v":2}', rev)
        await store.create("pods.default.b", b'{"v":"b"}')
        await store.create("nodes._.node-1", b'{"n":1}')
        await store.create("pods.default.gone", b"{}")
        await store.delete("pods.default.gone")
        await store.create("secrets.default.s", bytes(range(256)))
    finally:
        await nc.close()
    return {"pods.default.a": b'{"v":2}', "pods.default.b": b'{"v":"b"}',
            "nodes._.node-1": b'{"n":1}', "secrets.default.s": bytes(range(256))}


async def _read_bucket(store_dir: Path, bucket: str) -> tuple[dict[str, tuple[bytes, int]], int]:
    proc, url = start_nats_server(store_dir)
    try:
        nc = await connect(url, max_reconnect_attempts=0)
        try:
            store = await NatsStore.open(nc, bucket)
            entries, _ = await store.list("")
            info = await store.js.stream_info(store.stream)
            return {e.key: (e.value, e.revision) for e in entries}, int(info.state.first_seq)
        finally:
            await nc.close()
    finally:
        proc.terminate()
        proc.wait(10)


def _kctl(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_save_then_restore_round_trip(nats_url: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    want = asyncio.run(_seed(nats_url, "snaptrip"))
    snap = tmp_path / "backup.snap"
    code, out, err = _kctl(capsys, "store", "snapshot", "save", str(snap), "--nats-url", nats_url,
                           "--bucket", "snaptrip", "--data-dir", str(tmp_path / "none"))
    assert code == 0, err
    assert f"Snapshot saved at {snap}" in out and "4 keys" in out
    assert (snap.stat().st_mode & 0o777) == 0o600  # it holds Secrets
    header = json.loads(snap.read_text().splitlines()[0])
    assert header["bucket"] == "snaptrip" and header["count"] == 4
    revision = header["revision"]

    code, out, _ = _kctl(capsys, "store", "snapshot", "status", str(snap))
    assert code == 0 and out.splitlines()[1].split()[1:4] == [str(revision), "4", "snaptrip"]

    data_dir = tmp_path / "cluster"
    code, out, err = _kctl(capsys, "store", "snapshot", "restore", str(snap),
                           "--data-dir", str(data_dir))
    assert code == 0, err
    assert "Restored 4 keys into bucket snaptrip" in out
    got, first_seq = asyncio.run(_read_bucket(data_dir / "nats", "snaptrip"))
    assert {k: v for k, (v, _) in got.items()} == want
    # revisions restart past the snapshot's, so no client sees an old resourceVersion reused
    assert first_seq == revision + 1
    assert all(rev > revision for _, rev in got.values())

    # restoring again over the existing bucket replaces it and bumps past its history
    code, _, err = _kctl(capsys, "store", "snapshot", "restore", str(snap),
                         "--data-dir", str(data_dir))
    assert code == 0, err
    again, first_again = asyncio.run(_read_bucket(data_dir / "nats", "snaptrip"))
    assert {k: v for k, (v, _) in again.items()} == want
    assert first_again > max(rev for _, rev in got.values())


def test_restore_verifies_the_checksum(nats_url: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(_seed(nats_url, "snapbad"))
    snap = tmp_path / "s.snap"
    asyncio.run(_save(nats_url, "snapbad", snap))
    raw = bytearray(snap.read_bytes())
    raw[-5] ^= 0x01
    snap.write_bytes(bytes(raw))
    code, out, err = _kctl(capsys, "store", "snapshot", "restore", str(snap),
                           "--data-dir", str(tmp_path / "c"))
    assert code == 1 and out == ""
    assert "checksum mismatch" in err and "Traceback" not in err
    assert not (tmp_path / "c" / "nats").exists()  # nothing was touched


async def _save(url: str, bucket: str, path: Path) -> snapshot.SnapshotInfo:
    nc = await connect(url)
    try:
        return await snapshot.save(nc, bucket, path)
    finally:
        await nc.close()


def test_save_of_a_missing_bucket_is_a_clear_error(nats_url: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _kctl(capsys, "store", "snapshot", "save", str(tmp_path / "x"),
                         "--nats-url", nats_url, "--bucket", "no-such-bucket")
    assert code == 1 and 'bucket "no-such-bucket" does not exist' in err


def test_restore_refuses_while_the_cluster_runs(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = tmp_path / "live"
    data_dir.mkdir()
    argv = ["sleep", "60"]
    pid, cmdline, ticks = spawn(argv, log=data_dir / "logs" / "x.log", env=dict(os.environ),
                                cwd=data_dir)
    try:
        save_state(State(Plan(data_dir=data_dir), [ProcRecord(
            component="nats", name="nats", index=0, pid=pid, argv=argv, cmdline=cmdline,
            start_ticks=ticks)]))
        snap = tmp_path / "s.snap"
        empty = snapshot.SnapshotInfo("jetkube", 1, 0, "", hashlib.sha256(b"").hexdigest(), {})
        snapshot.write_file(snap, empty, b"")
        code, _, err = _kctl(capsys, "store", "snapshot", "restore", str(snap),
                             "--data-dir", str(data_dir))
        assert code == 1
        assert "is running" in err and f"pid {pid}" in err and "kctl down" in err
    finally:
        os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
