"""Test helper (not a test module): run kctl in-process against the fake API with its
stdout on a terminal (a pseudo-terminal from ``os.openpty``), to see what a person sees.

The pty is put in raw mode so the bytes read back are exactly the bytes kctl wrote (no
``\\n`` → ``\\r\\n``); a thread drains it so a long live display cannot fill its buffer.
:data:`ESC` starts every colour and cursor code; :func:`plain` removes them.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import tty

import httpx
import pytest
from kctl_fakeapi import FakeApi, Kctl

from jetkube.cli.main import run

__all__ = ["ESC", "last_frame", "on_terminal", "plain"]

ESC = "\x1b["
_CODES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def plain(text: str) -> str:
    """``text`` without its escape codes."""
    return _CODES.sub("", text)


def last_frame(text: str) -> str:
    """What a live display left on the screen: the text after its last line erase, plain."""
    return plain(text.rsplit(ESC + "2K", 1)[-1])


def _drain(fd: int, into: bytearray) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the terminal's other end is closed
            return
        if not chunk:
            return
        into.extend(chunk)


def on_terminal(kctl: Kctl, monkeypatch: pytest.MonkeyPatch, *argv: str,
                env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run ``kctl argv`` with stdout on a terminal (colour allowed unless ``env`` says
    otherwise): (exit code, what the terminal got)."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("LINES", "40")
    for k, v in (env or {}).items():
        monkeypatch.setenv(k, v)
    api: FakeApi = kctl.api
    master, slave = os.openpty()
    tty.setraw(slave)
    got = bytearray()
    reader = threading.Thread(target=_drain, args=(master, got), daemon=True)
    reader.start()
    term = os.fdopen(slave, "w", encoding="utf-8")
    old = sys.stdout
    sys.stdout = term
    try:
        code = run(["--kubeconfig", str(kctl.kubeconfig), *argv],
                   transport=httpx.MockTransport(api.handler))
    finally:
        sys.stdout = old
        term.flush()
        term.close()
        reader.join(timeout=5)
        os.close(master)
    return code, got.decode("utf-8")
