"""``kctl cp``: files in and out of a container with tar over ``pods/exec``, as kubectl does.

Into the pod: ``test -d DEST`` first (a directory: the copy goes inside it, named after
the source), then the source as a tar archive on the stdin of ``tar -xmf - -C DIR`` (the
archive's top entry is named after the destination).  Out of the pod: the stdout of
``tar cf - SRC``, unpacked under the local destination with the source's path prefix
taken off every member (a file lands at DEST itself, a directory's contents under DEST).
Members that would land outside DEST, and links, are skipped with a warning, as kubectl
skips them.  The pod's tar's stderr goes to kctl's stdout when copying out (kubectl's
``ErrOut`` there is its ``Out``: "tar: removing leading '/' from member names"), to stderr
when copying in.
"""

from __future__ import annotations

import posixpath
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .context import Ctx
from .errors import CliError
from .remotecommand import CHANNEL_PROTOCOLS, Streams, open_pod_stream, run_session, stream_params

__all__ = ["FileSpec", "copy_from_pod", "copy_to_pod", "parse_spec"]

_SPOOL = 8 * 1024 * 1024


@dataclass(frozen=True)
class FileSpec:
    """``[NAMESPACE/]POD:PATH`` (pod set) or a local path (pod empty)."""

    path: str
    pod: str = ""
    namespace: str = ""


def parse_spec(spec: str) -> FileSpec:
    if ":" not in spec or spec.startswith(("/", ".")) or Path(spec).exists():
        return FileSpec(spec)
    where, _, path = spec.partition(":")
    if not path:
        raise CliError(f"{spec}: a remote file specification needs a path after the colon")
    ns, _, pod = where.rpartition("/")
    return FileSpec(path, pod, ns)


def _run(ctx: Ctx, spec: FileSpec, command: list[str], container: str | None,
         stdin: IO[bytes] | None, stdout: IO[bytes], stderr: IO[bytes]) -> int:
    conn = open_pod_stream(ctx, spec.pod, "exec", stream_params(
        command=command, container=container, stdin=stdin is not None, tty=False),
        CHANNEL_PROTOCOLS, namespace=spec.namespace)
    return run_session(conn, Streams(stdin=stdin, stdout=stdout, stderr=stderr), quiet=True)


def _is_remote_dir(ctx: Ctx, dest: FileSpec, container: str | None) -> bool:
    with tempfile.TemporaryFile() as sink:
        return _run(ctx, dest, ["test", "-d", dest.path], container, None, sink, sink) == 0


def copy_to_pod(ctx: Ctx, src: str, dest: FileSpec, container: str | None, *,
                preserve: bool = True) -> int:
    source = Path(src)
    if not source.exists():
        raise CliError(f"{src} doesn't exist in local filesystem")
    target = dest.path
    if _is_remote_dir(ctx, dest, container):
        target = posixpath.join(target, source.name)
    target_dir = posixpath.dirname(target.rstrip("/")) or ("/" if target.startswith("/") else "")
    base = posixpath.basename(target.rstrip("/")) or source.name
    with tempfile.SpooledTemporaryFile(_SPOOL) as archive:
        with tarfile.open(fileobj=archive, mode="w", format=tarfile.GNU_FORMAT) as tar:
            def owner(info: tarfile.TarInfo) -> tarfile.TarInfo:
                if not preserve:
                    info.uid = info.gid = 0
                    info.uname = info.gname = ""
                return info
            tar.add(str(source), arcname=base, recursive=True, filter=owner)
        archive.seek(0)
        command = ["tar", "-xmf", "-"] if preserve else ["tar", "--no-same-permissions",
                                                         "--no-same-owner", "-xmf", "-"]
        if target_dir:
            command += ["-C", target_dir]
        code = _run(ctx, dest, command, container, archive, _binary_stdout(), _binary_stderr())
    return code


def copy_from_pod(ctx: Ctx, src: FileSpec, dest: str, container: str | None, *,
                  preserve: bool = True) -> int:
    with tempfile.SpooledTemporaryFile(_SPOOL) as archive:
        # the pod's tar's complaints go to stdout, as kubectl's ErrOut there is its Out
        code = _run(ctx, src, ["tar", "cf", "-", src.path], container, None, archive,
                    _binary_stdout())
        if code:
            return code
        archive.seek(0)
        prefix = posixpath.normpath(src.path.lstrip("/"))
        _untar(archive, prefix, Path(dest), preserve=preserve)
    return 0


def _untar(archive: IO[bytes], prefix: str, dest: Path, *, preserve: bool) -> None:
    root = dest.resolve()
    try:
        tar = tarfile.open(fileobj=archive, mode="r|")
    except tarfile.ReadError as e:
        raise CliError(f"the pod's tar output could not be read: {e}") from None
    with tar:
        for member in tar:
            name = posixpath.normpath(member.name.lstrip("/"))
            if name != prefix and not name.startswith(prefix.rstrip("/") + "/"):
                continue
            rest = name[len(prefix):].lstrip("/")
            out = (root / rest) if rest else root
            if out != root and root not in out.resolve().parents:
                _say(f"warning: skipping {member.name}: it would land outside {dest}\n".encode())
                continue
            if member.issym() or member.islnk():
                _say(f"warning: skipping symlink: {out} -> {member.linkname}\n".encode())
                continue
            if member.isdir():
                out.mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                out.parent.mkdir(parents=True, exist_ok=True)
                data = tar.extractfile(member)
                if data is None:
                    continue
                with open(out, "wb") as f:
                    while chunk := data.read(1 << 16):
                        f.write(chunk)
            else:
                continue
            if preserve:
                out.chmod(member.mode & 0o7777)


def _binary_stdout() -> IO[bytes]:
    return sys.stdout.buffer if hasattr(sys.stdout, "buffer") else sys.stdout  # type: ignore[return-value]


def _binary_stderr() -> IO[bytes]:
    return sys.stderr.buffer if hasattr(sys.stderr, "buffer") else sys.stderr  # type: ignore[return-value]


def _say(data: bytes) -> None:
    err = _binary_stderr()
    err.write(data)
    err.flush()
