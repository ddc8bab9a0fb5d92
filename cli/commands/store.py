"""``kctl store snapshot save|restore|status`` (like ``etcdctl snapshot ...``).

The store work is :mod:`jetkube.services.machinery.store.snapshot`; this module
finds the NATS url and data dir (``DIR/cluster.json``) and refuses to restore
under a running cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..console import echo
from ..context import Ctx
from ..errors import CliError
from ..plan import Plan
from ..tables import render
from ..up import admin_nats, load_state, running
from .cluster import DATA_DIR_HELP, data_dir_arg

if TYPE_CHECKING:  # nats-py is slow to import: only the store commands load it
    from jetkube.services.machinery.store import snapshot


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("store", help="Operate on the NATS KV store")
    ssub = p.add_subparsers(dest="store_cmd", metavar="snapshot", required=True)
    snap = ssub.add_parser("snapshot", help="Save, restore or inspect store snapshots")
    cmds = snap.add_subparsers(dest="snapshot_cmd", metavar="save|restore|status", required=True)

    s = cmds.add_parser("save", help="Save a consistent copy of the store to FILE")
    s.add_argument("file")
    s.add_argument("--data-dir", help=DATA_DIR_HELP)
    s.add_argument("--nats-url", help="NATS server (default: from DIR/cluster.json)")
    s.add_argument("--bucket", help="KV bucket (default: the cluster's, else jetkube)")
    s.set_defaults(func=run_save, needs_cluster=False)

    r = cmds.add_parser("restore", help="Restore FILE into a stopped cluster's store")
    r.add_argument("file")
    r.add_argument("--data-dir", help=DATA_DIR_HELP)
    r.add_argument("--bucket", help="restore into this bucket (default: the snapshot's)")
    r.set_defaults(func=run_restore, needs_cluster=False)

    st = cmds.add_parser("status", help="Verify FILE and print its header")
    st.add_argument("file")
    st.add_argument("-o", "--output", choices=["table", "json"], default="table")
    st.set_defaults(func=run_status, needs_cluster=False)


def _table(info: snapshot.SnapshotInfo) -> None:
    rows = [[info.sha256[:16], str(info.revision), str(info.count), info.bucket, info.created]]
    for line in render(["HASH", "REVISION", "TOTAL KEYS", "BUCKET", "CREATED"], rows):
        echo(line)


def run_save(ctx: Ctx) -> int:
    a = ctx.args
    data_dir = data_dir_arg(a)
    state = load_state(data_dir)
    url = a.nats_url or (state.plan.nats_url if state else None)
    if not url:
        raise CliError(f"no NATS url: pass --nats-url, or --data-dir of a cluster started "
                       f"with kctl up (no cluster.json in {data_dir})")
    bucket = a.bucket or (state.plan.bucket if state else "jetkube")
    from jetkube.services.machinery.store import connect, snapshot

    async def go() -> snapshot.SnapshotInfo:
        try:
            nc = await connect(url, max_reconnect_attempts=0, connect_timeout=5,
                               **admin_nats(state))
        except Exception as e:
            raise CliError(f"cannot connect to NATS at {url}: {e or e.__class__.__name__}"
                           ) from None
        try:
            return await snapshot.save(nc, bucket, Path(a.file))
        finally:
            await nc.close()

    try:
        info = asyncio.run(go())
    except snapshot.SnapshotError as e:
        raise CliError(str(e)) from None
    echo(f"Snapshot saved at {a.file} (bucket {info.bucket}, revision {info.revision}, "
         f"{info.count} keys)")
    return 0


def run_restore(ctx: Ctx) -> int:
    a = ctx.args
    data_dir = data_dir_arg(a)
    live = running(data_dir)
    if live:
        names = ", ".join(f"{r.name} (pid {r.pid})" for r in live)
        raise CliError(f"the cluster in {data_dir} is running ({names}); stop it with "
                       f"`kctl down{'' if a.data_dir is None else ' --data-dir ' + str(data_dir)}`"
                       " before restoring")
    store_dir = data_dir / "nats"
    from jetkube.services.machinery.store import snapshot
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    from ..bussecurity import store_as_global_account

    state = load_state(data_dir)
    plan = state.plan if state is not None else Plan(data_dir=data_dir)
    if plan.ha:
        raise CliError(f"{data_dir} holds a three-node (--ha) store: restore writes one "
                       "node's files and cannot seed a JetStream cluster yet; restore into "
                       "a new data dir without --ha")
    try:
        with store_as_global_account(plan):
            res = asyncio.run(snapshot.restore(
                store_dir, Path(a.file), bucket=a.bucket,
                log_file=data_dir / "logs" / "nats-restore.log"))
    except snapshot.SnapshotError as e:
        raise CliError(str(e)) from None
    echo(f"Restored {res.count} keys into bucket {res.bucket} of {store_dir} "
         f"(revisions {res.first_revision}..{res.last_revision}); start it with kctl up")
    return 0


def run_status(ctx: Ctx) -> int:
    from jetkube.services.machinery.store import snapshot
    try:
        info = snapshot.status(Path(ctx.args.file))
    except snapshot.SnapshotError as e:
        raise CliError(str(e)) from None
    if ctx.args.output == "json":
        echo(json.dumps({k: v for k, v in info.header().items() if k != "stream_config"}))
    else:
        _table(info)
    return 0
