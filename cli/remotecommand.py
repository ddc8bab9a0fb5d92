"""kctl's side of kubectl's remote command streams (``exec``, ``attach``, ``cp``).

One WebSocket (streamclient.py) offering ``v5.channel.k8s.io`` then ``v4.channel.k8s.io``;
each binary message starts with its channel: 0 stdin, 1 stdout, 2 stderr, 3 the final
``Status``, 4 a terminal resize (JSON ``{"Width", "Height"}``), 255 (v5) ``[255, 0]``: the
client closed stdin.  Stdin is read in a thread (sent as it comes; at its end the v5 close,
so ``cat`` and ``tar x`` in the pod end); the calling thread writes stdout and stderr.
With ``-t`` and a terminal on stdin, the terminal is put in raw mode for the session and
restored after, and its size is sent at the start and on every ``SIGWINCH``, as kubectl does.

The status becomes the exit code as kubectl makes it: ``Success`` 0; ``NonZeroExitCode``
the command's code, with "command terminated with exit code N" on stderr; any other
failure an error (exit 1).
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from .context import Ctx
from .errors import CliError
from .streamclient import StreamConnection, open_stream

__all__ = ["CHANNEL_PROTOCOLS", "Streams", "exit_code_of", "open_pod_stream", "run_session"]

CHANNEL_PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"]
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
_CHUNK = 32 * 1024


@dataclass
class Streams:
    """Where a session's input comes from and its output goes (the process's by default)."""

    stdin: IO[bytes] | None = None
    stdout: IO[bytes] = field(default_factory=lambda: _binary(sys.stdout))
    stderr: IO[bytes] = field(default_factory=lambda: _binary(sys.stderr))


def _binary(stream: Any) -> IO[bytes]:
    return stream.buffer if hasattr(stream, "buffer") else stream  # type: ignore[no-any-return]


def open_pod_stream(ctx: Ctx, pod: str, subresource: str, params: list[tuple[str, str]],
                    protocols: list[str], namespace: str = "") -> StreamConnection:
    """Open ``pods/{pod}/{subresource}`` with kctl's server, token and certificate check."""
    cfg = ctx.config
    from .client import new_traceparent

    ns = namespace or ctx.namespace
    return open_stream(cfg.server, f"/api/v1/namespaces/{ns}/pods/{pod}/{subresource}",
                       params, protocols, token=cfg.token, verify=cfg.verify,
                       headers={"User-Agent": "kctl/jetkube", "traceparent": new_traceparent()},
                       timeout=float(getattr(ctx.args, "request_timeout", None) or 30.0))


def exit_code_of(status: dict[str, Any]) -> tuple[int, str]:
    """(exit code, message for stderr) of the final Status, as kubectl exits."""
    if status.get("status") == "Success":
        return 0, ""
    if status.get("reason") == "NonZeroExitCode":
        for cause in (status.get("details") or {}).get("causes") or []:
            if cause.get("reason") == "ExitCode" and str(cause.get("message", "")).isdigit():
                code = int(cause["message"])
                return code, f"command terminated with exit code {code}"
    return 1, f"error: {status.get('message') or 'the stream failed'}"


def _terminal_size(fd: int) -> tuple[int, int] | None:
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return None
    return size.columns, size.lines


def _send_size(conn: StreamConnection, fd: int) -> None:
    size = _terminal_size(fd)
    if size is not None and size[0] > 0:
        try:
            conn.send(bytes([RESIZE]) + json.dumps({"Width": size[0], "Height": size[1]}).encode())
        except OSError:
            pass


def _pump_stdin(conn: StreamConnection, source: IO[bytes], v5: bool) -> None:
    read: Callable[[int], bytes]
    fd = _fileno(source)
    if fd is not None:  # the file itself: a thread blocked in a buffered reader holds its
        read = functools.partial(os.read, fd)  # lock, and Python aborts at exit on it
    else:
        read = source.read1 if hasattr(source, "read1") else source.read  # type: ignore[attr-defined]
    try:
        while True:
            try:
                chunk = read(_CHUNK)
            except (OSError, ValueError):  # a hung-up terminal, or stdin closed under us
                chunk = b""
            if not chunk:
                break
            conn.send(bytes([STDIN]) + chunk)
        if v5:
            conn.send(bytes([CLOSE, STDIN]))
    except OSError:
        return  # the stream ended first


class _RawTerminal:
    """The terminal on ``fd`` in raw mode until :meth:`restore`."""

    def __init__(self, fd: int) -> None:
        import termios
        import tty

        self.fd = fd
        self.saved = termios.tcgetattr(fd)
        tty.setraw(fd)

    def restore(self) -> None:
        import termios

        termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)


def run_session(conn: StreamConnection, streams: Streams, *, tty: bool = False,
                quiet: bool = False) -> int:
    """Bridge ``conn`` and ``streams`` until the server closes; the remote exit code."""
    v5 = conn.subprotocol == CHANNEL_PROTOCOLS[0]
    raw: _RawTerminal | None = None
    old_winch: Any = None
    fd = _fileno(streams.stdin)
    if tty and fd is not None and os.isatty(fd):
        raw = _RawTerminal(fd)
        _send_size(conn, fd)
        if threading.current_thread() is threading.main_thread():
            old_winch = signal.signal(signal.SIGWINCH, lambda *_: _send_size(conn, fd))
    if streams.stdin is not None:
        threading.Thread(target=_pump_stdin, args=(conn, streams.stdin, v5), daemon=True,
                         name="kctl-stdin").start()
    status: dict[str, Any] | None = None
    try:
        while (msg := conn.recv()) is not None:
            if not msg:
                continue
            channel, data = msg[0], msg[1:]
            if channel == STDOUT:
                streams.stdout.write(data)
                streams.stdout.flush()
            elif channel == STDERR:
                streams.stderr.write(data)
                streams.stderr.flush()
            elif channel == ERROR:
                try:
                    parsed = json.loads(data or b"{}")
                except ValueError:
                    parsed = {"status": "Failure", "message": data.decode(errors="replace")}
                status = parsed if isinstance(parsed, dict) else None
    finally:
        if raw is not None:
            raw.restore()
        if old_winch is not None:
            signal.signal(signal.SIGWINCH, old_winch)
        conn.close()
    if status is None:  # v1-v3 said nothing on success; v4+ always send a Status
        return 0
    code, message = exit_code_of(status)
    if message and not quiet:
        if code == 1 and status.get("reason") != "NonZeroExitCode":
            raise CliError(message.removeprefix("error: "))
        streams.stderr.write((message + "\n").encode())
        streams.stderr.flush()
    return code


def _fileno(stream: IO[bytes] | None) -> int | None:
    if stream is None:
        return None
    try:
        return stream.fileno()
    except (OSError, ValueError, AttributeError):
        return None


def stream_params(*, command: list[str] | None, container: str | None, stdin: bool,
                  tty: bool) -> list[tuple[str, str]]:
    """The query kubectl sends: every command item, the container, the streams wanted."""
    params = [("command", c) for c in command or []]
    if container:
        params.append(("container", container))
    params += [("stdin", str(stdin).lower()), ("stdout", "true"),
               ("stderr", str(not tty).lower()), ("tty", str(tty).lower())]
    return params
