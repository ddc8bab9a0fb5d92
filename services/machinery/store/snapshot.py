"""Store snapshots: the KV bucket to a file and back (``etcdctl snapshot save/restore``).

``save`` copies every live key of the bucket at one revision: an ordered
consumer with ``DeliverLastPerSubject`` read until ``num_pending`` is 0 (the
store's own list, :meth:`NatsStore.list`), so the copy is consistent even
while the cluster keeps writing.  The file is JSON lines: a header
(format, bucket, revision, key count, created time, the stream's config and a
SHA-256 of the body), then one ``{"key", "revision", "value"}`` line per key
(value base64).  It holds Secrets, so it is written with mode 0600.

``restore`` is for a stopped cluster: it verifies the file, starts a private
nats-server on the cluster's store directory, deletes and recreates the
bucket with the saved config and writes every key, then stops the server.
The recreated stream starts *after* both the snapshot's revision and the old
bucket's last revision (like ``etcdctl snapshot restore --bump-revision
--mark-compacted``): every restored object gets a resourceVersion newer than
any a client has seen, and a watch from an older one gets 410 Gone and
relists instead of silently missing the jump back in time.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nats.aio.client import Client as NATS
from nats.js import api
from nats.js import errors as jserr

from jetkube.schemas import format_time

from ._connect import connect
from ._nats import NatsStore
from ._natsserver import start_nats_server

FORMAT = "jetkube-snapshot"
VERSION = 1
_PIPELINE = 256  # publishes in flight during restore


class SnapshotError(Exception):
    """A snapshot that cannot be written, read, verified or restored."""


@dataclass(frozen=True)
class SnapshotInfo:
    bucket: str
    revision: int
    count: int
    created: str
    sha256: str
    stream_config: dict[str, Any]

    def header(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "bucket": self.bucket,
                "revision": self.revision, "count": self.count, "created": self.created,
                "sha256": self.sha256, "stream_config": self.stream_config}


@dataclass(frozen=True)
class SnapshotEntry:
    key: str
    revision: int
    value: bytes


@dataclass(frozen=True)
class RestoreResult:
    bucket: str
    count: int
    first_revision: int  # the revision of the first restored key
    last_revision: int


def _stream_name(bucket: str) -> str:
    return f"KV_{bucket}"


def _encode_body(entries: list[SnapshotEntry]) -> bytes:
    lines = [json.dumps({"key": e.key, "revision": e.revision,
                         "value": base64.b64encode(e.value).decode()}, separators=(",", ":"))
             for e in entries]
    return ("\n".join(lines) + "\n").encode() if lines else b""


def write_file(path: Path, info: SnapshotInfo, body: bytes) -> None:
    """Header line + body, atomically, mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(json.dumps(info.header(), separators=(",", ":")).encode() + b"\n")
        f.write(body)
    os.replace(tmp, path)


async def save(nc: NATS, bucket: str, path: Path) -> SnapshotInfo:
    """Write a consistent copy of ``bucket`` to ``path``."""
    js = nc.jetstream()
    try:
        kv = await js.key_value(bucket)
    except jserr.BucketNotFoundError:
        raise SnapshotError(f'bucket "{bucket}" does not exist on this NATS server') from None
    stream = await js.stream_info(_stream_name(bucket))
    store = NatsStore(nc, js, kv, bucket)
    entries, revision = await store.list("")
    items = sorted((SnapshotEntry(e.key, e.revision, e.value) for e in entries),
                   key=lambda e: e.revision)
    body = _encode_body(items)
    config = {k: v for k, v in stream.config.as_dict().items() if k != "metadata"}
    info = SnapshotInfo(bucket=bucket, revision=revision, count=len(items),
                        created=format_time(datetime.now(UTC)),
                        sha256=hashlib.sha256(body).hexdigest(), stream_config=config)
    write_file(path, info, body)
    return info


def read(path: Path) -> tuple[SnapshotInfo, list[SnapshotEntry]]:
    """Read and verify a snapshot (format, checksum, key count)."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise SnapshotError(f"cannot read snapshot {path}: {e.strerror}") from None
    head, nl, body = raw.partition(b"\n")
    try:
        h = json.loads(head)
    except ValueError:
        h = None
    if not nl or not isinstance(h, dict) or h.get("format") != FORMAT:
        raise SnapshotError(f"{path} is not a jetkube snapshot")
    if h.get("version") != VERSION:
        raise SnapshotError(f"{path}: unsupported snapshot version {h.get('version')}")
    digest = hashlib.sha256(body).hexdigest()
    if digest != h.get("sha256"):
        raise SnapshotError(f"{path}: checksum mismatch (expected {h.get('sha256')}, "
                            f"got {digest}): the file is corrupt or truncated")
    entries = []
    for n, line in enumerate(body.splitlines(), start=2):
        try:
            d = json.loads(line)
            entries.append(SnapshotEntry(str(d["key"]), int(d["revision"]),
                                         base64.b64decode(d["value"], validate=True)))
        except (ValueError, KeyError, TypeError) as e:
            raise SnapshotError(f"{path}: line {n}: bad entry ({e})") from None
    if len(entries) != h.get("count"):
        raise SnapshotError(f"{path}: holds {len(entries)} keys, header says {h.get('count')}")
    info = SnapshotInfo(bucket=str(h["bucket"]), revision=int(h["revision"]),
                        count=int(h["count"]), created=str(h.get("created", "")),
                        sha256=digest, stream_config=dict(h.get("stream_config") or {}))
    return info, entries


def status(path: Path) -> SnapshotInfo:
    """A verified snapshot's header (``etcdctl snapshot status``)."""
    return read(path)[0]


def _stream_config(info: SnapshotInfo, bucket: str, first_seq: int) -> api.StreamConfig:
    d = dict(info.stream_config)
    d.pop("metadata", None)
    if d.pop("mirror", None) is not None:  # saved from the bus's mirror of the store:
        d.pop("sources", None)              # restore the KV stream it mirrors
        d.update(allow_rollup_hdrs=True, deny_delete=True, discard="new")
    d["name"] = _stream_name(bucket)
    d["subjects"] = [f"$KV.{bucket}.>"]
    if not d.get("max_msgs_per_subject"):
        d["max_msgs_per_subject"] = 8
    cfg: api.StreamConfig = api.StreamConfig.from_response(d)
    cfg.first_seq = first_seq
    return cfg


async def restore_into(nc: NATS, info: SnapshotInfo, entries: list[SnapshotEntry], *,
                       bucket: str | None = None) -> RestoreResult:
    """Replace ``bucket`` (default: the snapshot's) with the snapshot's keys."""
    bucket = bucket or info.bucket
    js = nc.jetstream()
    name = _stream_name(bucket)
    last_seq = 0
    try:
        old = await js.stream_info(name)
        last_seq = int(old.state.last_seq)
        await js.delete_stream(name)
    except jserr.NotFoundError:
        pass
    first = max(last_seq, info.revision) + 1
    await js.add_stream(_stream_config(info, bucket, first))
    prefix = f"$KV.{bucket}."
    ordered = sorted(entries, key=lambda e: e.revision)
    for i in range(0, len(ordered), _PIPELINE):
        batch = ordered[i:i + _PIPELINE]
        await asyncio.gather(*(js.publish(prefix + e.key, e.value) for e in batch))
    state = (await js.stream_info(name)).state
    if int(state.messages) != len(entries):
        raise SnapshotError(f"restore wrote {state.messages} keys, expected {len(entries)}")
    return RestoreResult(bucket, len(entries), first, int(state.last_seq))


async def restore(store_dir: Path, path: Path, *, bucket: str | None = None,
                  log_file: Path | None = None) -> RestoreResult:
    """Restore into the NATS store at ``store_dir`` using a private nats-server.

    The cluster that owns ``store_dir`` must be stopped (the caller checks).
    """
    info, entries = read(path)  # verify before touching anything
    proc, url = start_nats_server(store_dir, log_file=log_file)
    try:
        nc = await connect(url, max_reconnect_attempts=0)
        try:
            return await restore_into(nc, info, entries, bucket=bucket)
        finally:
            await nc.close()
    finally:
        proc.terminate()
        try:
            await asyncio.to_thread(proc.wait, 15)
        except subprocess.TimeoutExpired:
            proc.kill()
            await asyncio.to_thread(proc.wait)
