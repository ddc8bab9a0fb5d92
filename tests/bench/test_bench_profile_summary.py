"""bench/_profile.py reads py-spy's raw (collapsed) profiles back as each function's share
of the samples, inclusive and self, and can cut them to the stacks through one function."""

from __future__ import annotations

from pathlib import Path

from _profile import summary

RAW = (
    "main (/x/main.py:1);serve (/x/handlers.py:10);load (/x/load.py:3) 6\n"
    "main (/x/main.py:1);serve (/x/handlers.py:10) 2\n"
    "main (/x/main.py:1);idle (/x/loop.py:7) 2\n"
)


def test_summary_gives_each_function_its_inclusive_and_self_share(tmp_path: Path) -> None:
    f = tmp_path / "apiserver.txt"
    f.write_text(RAW)
    out = summary(f)
    assert out[0] == "apiserver.txt: 10 samples"
    incl = out[out.index("  inclusive:") + 1:out.index("  self:")]
    self_ = out[out.index("  self:") + 1:]
    assert "    100.0%  main.py:main" in incl
    assert "     80.0%  handlers.py:serve" in incl
    assert "     60.0%  load.py:load" in self_
    assert "     20.0%  handlers.py:serve" in self_


def test_summary_focus_keeps_only_the_stacks_through_the_function(tmp_path: Path) -> None:
    f = tmp_path / "apiserver.txt"
    f.write_text(RAW)
    out = summary(f, focus="handlers.py:serve")
    assert out[0] == "apiserver.txt: 8 samples"
    assert not any("main.py:main" in line or "loop.py" in line for line in out)
    assert "     75.0%  load.py:load" in out
