"""kctl writes plain text without importing rich (cli/console.py), byte for byte as rich's
console wrote it before: on a pipe and on a terminal, for any text (tabs, control codes
and other unusual text still go through rich)."""

from __future__ import annotations

import io
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from jetkube.cli import console


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _rich(text: str, tty: bool) -> str:
    buf = _Tty() if tty else io.StringIO()
    Console(file=buf, soft_wrap=True, highlight=False, markup=False, emoji=False,
            width=20).print(text)
    return buf.getvalue()


def _kctl(text: str, tty: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    out, err = (_Tty(), _Tty()) if tty else (io.StringIO(), io.StringIO())
    with monkeypatch.context() as m:
        m.setattr(sys, "stdout", out)
        m.setattr(sys, "stderr", err)
        m.setenv("COLUMNS", "20")
        console.echo(text)
        console.echo_err(text)
    return out.getvalue(), err.getvalue()


TEXTS = ["", "web   1/1   Running", "a\nb\n", "  trailing  ", "x" * 300, "wide 漢字 ok",
         "tab\there", "cr\r\nlf", "bell\a", "esc \x1b[31mred\x1b[0m", "[bold]not markup[/]",
         ":smile: no emoji", "zero\u200bwidth", "e\u0301 combining", "line\u2028sep"]


@pytest.mark.parametrize("tty", [False, True])
@pytest.mark.parametrize("text", TEXTS)
def test_echo_writes_what_rich_wrote(text: str, tty: bool,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    assert _kctl(text, tty, monkeypatch) == (_rich(text, tty), _rich(text, tty))


@settings(max_examples=300, deadline=None)
@given(text=st.text(), tty=st.booleans())
def test_echo_writes_what_rich_wrote_for_any_text(text: str, tty: bool) -> None:
    with pytest.MonkeyPatch.context() as m:
        assert _kctl(text, tty, m) == (_rich(text, tty), _rich(text, tty))


def test_plain_text_does_not_import_rich() -> None:
    assert console._plain("NAME   READY   STATUS\nweb    1/1     Running")
    assert not console._plain("a\tb") and not console._plain("a\rb")
