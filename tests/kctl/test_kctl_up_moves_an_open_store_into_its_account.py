"""A data dir written by an open (single-account) nats-server keeps its streams in the
global account ``$G``; ``kctl up`` moves them into the store's account once, and snapshot
restore lends the store's account to its private, account-less server and drops the
bus's mirrors afterwards (they refill from the restored streams)."""

from __future__ import annotations

from pathlib import Path

from jetkube.cli.bussecurity import adopt_open_store, store_as_global_account
from jetkube.cli.plan import Plan


def _stream(data_dir: Path, account: str, name: str) -> Path:
    d = data_dir / "nats" / "jetstream" / account / "streams" / name
    d.mkdir(parents=True)
    (d / "meta.inf").write_text(name)
    return d


def test_an_open_store_moves_into_the_store_account_once(tmp_path: Path) -> None:
    plan = Plan(data_dir=tmp_path)
    _stream(tmp_path, "$G", "KV_jetkube")
    assert adopt_open_store(plan)
    moved = tmp_path / "nats" / "jetstream" / "STORE" / "streams" / "KV_jetkube" / "meta.inf"
    assert moved.read_text() == "KV_jetkube"
    assert not (tmp_path / "nats" / "jetstream" / "$G").exists()
    assert not adopt_open_store(plan)  # nothing left to move


def test_a_secured_store_is_never_overwritten_by_an_old_one(tmp_path: Path) -> None:
    plan = Plan(data_dir=tmp_path)
    _stream(tmp_path, "$G", "KV_jetkube")
    _stream(tmp_path, "STORE", "KV_jetkube").joinpath("meta.inf").write_text("current")
    assert not adopt_open_store(plan)
    current = tmp_path / "nats" / "jetstream" / "STORE" / "streams" / "KV_jetkube" / "meta.inf"
    assert current.read_text() == "current"


def test_a_fresh_data_dir_has_nothing_to_move(tmp_path: Path) -> None:
    assert not adopt_open_store(Plan(data_dir=tmp_path))


def test_restore_lends_the_store_account_and_drops_the_mirrors(tmp_path: Path) -> None:
    plan = Plan(data_dir=tmp_path)
    _stream(tmp_path, "STORE", "KV_jetkube")
    mirror = _stream(tmp_path, "BUS", "KV_jetkube")
    traces = _stream(tmp_path, "BUS", "JETKUBE_TRACES")
    glob = tmp_path / "nats" / "jetstream" / "$G" / "streams" / "KV_jetkube"
    with store_as_global_account(plan):
        assert glob.is_dir()  # what the private server sees
        (glob / "restored").write_text("yes")
    back = tmp_path / "nats" / "jetstream" / "STORE" / "streams" / "KV_jetkube"
    assert (back / "restored").read_text() == "yes"
    assert not mirror.exists() and traces.exists()
