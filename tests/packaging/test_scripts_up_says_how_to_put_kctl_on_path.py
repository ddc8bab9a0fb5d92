"""After ``./scripts/up`` the user types ``kctl get nodes``: kctl lives in .venv/bin, which
the script cannot put on the PATH of the shell that ran it.  scripts/up runs ``kctl up``
with the caller's PATH, and ``kctl up`` prints the exact ``export PATH=...`` line when
``kctl`` is not on that PATH (nothing in the user's shell or home is changed)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from jetkube.cli.commands.cluster import path_hint

ROOT = Path(__file__).resolve().parents[2]


def _venv(tmp: Path) -> Path:
    """A venv's bin with kctl and activate scripts."""
    bin_dir = tmp / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("kctl", "activate"):
        (bin_dir / name).write_text("#!/bin/sh\n")
        (bin_dir / name).chmod(0o755)
    return bin_dir


def test_no_hint_when_this_kctl_is_on_path(tmp_path: Path) -> None:
    bin_dir = _venv(tmp_path)
    assert path_hint(bin_dir, f"/usr/bin:{bin_dir}:/bin") is None


def test_the_export_line_when_kctl_is_not_on_path(tmp_path: Path) -> None:
    bin_dir = _venv(tmp_path)
    hint = path_hint(bin_dir, "/usr/bin:/bin")
    assert hint is not None
    assert hint.startswith(f'export PATH="{bin_dir}:$PATH"   # puts kctl on your PATH')
    assert f"(or: . {bin_dir / 'activate'})" in hint


def test_the_export_line_when_another_kctl_comes_first(tmp_path: Path) -> None:
    bin_dir, other = _venv(tmp_path), _venv(tmp_path / "other")
    assert path_hint(bin_dir, f"{other}:{bin_dir}") is not None


def test_a_path_with_spaces_is_quoted_for_the_shell(tmp_path: Path) -> None:
    bin_dir = _venv(tmp_path / "my dir")
    hint = path_hint(bin_dir, "/usr/bin")
    assert hint is not None and hint.startswith(f"export PATH='{bin_dir}':\"$PATH\"")
    shown = subprocess.run(["bash", "-c", f"{hint.split('   #')[0]}; echo \"$PATH\""],
                           capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert shown.stdout.strip() == f"{bin_dir}:/usr/bin:/bin"


def test_no_hint_without_a_kctl_script_beside_python(tmp_path: Path) -> None:
    assert path_hint(tmp_path, "/usr/bin") is None


@pytest.mark.parametrize(("install", "pip_args"), [("editable", f"-e {ROOT}"),
                                                   ("wheel", str(ROOT))])
def test_scripts_up_runs_kctl_up_with_the_callers_path(tmp_path: Path, install: str,
                                                       pip_args: str) -> None:
    """scripts/up on a stand-in venv (its python, pip and kctl are shell scripts): kctl up
    is the venv's kctl and sees the PATH the script was started with."""
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    scripts = {
        # pip install and the import check: it shows what pip was asked, with which warnings
        "python": '#!/bin/sh\ncase "$*" in *"pip install"*) '
                  'echo "pip: $* (PYTHONWARNINGS=${PYTHONWARNINGS:-})";; esac\n',
        "activate": f'VIRTUAL_ENV={tmp_path / "venv"}\nPATH="$VIRTUAL_ENV/bin:$PATH"\n'
                    "export VIRTUAL_ENV PATH\n",
        "kctl": '#!/bin/sh\necho "args: $*"\necho "path: $PATH"\n'
                'echo "warnings: ${PYTHONWARNINGS:-none}"\n',
    }
    for name, text in scripts.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    caller_path = os.environ["PATH"]
    p = subprocess.run([str(ROOT / "scripts" / "up"), "--runtime", "sim"], capture_output=True,
                       text=True, timeout=60,
                       env={**os.environ, "JETKUBE_VENV": str(tmp_path / "venv"),
                            "JETKUBE_INSTALL": install, "PATH": caller_path})
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[-3:] == ["args: up --runtime sim", f"path: {caller_path}", "warnings: none"]
    # it says what it is doing before each slow step
    assert f"== jetkube: installing jetkube into {tmp_path / 'venv'}" in lines
    assert "== jetkube: kctl up --runtime sim" in lines
    # setuptools' editable-install warning box is silenced for pip's build, and only there
    pip = [line for line in lines if line.startswith("pip: -m pip install -q /")
           or line.startswith("pip: -m pip install -q -e")]
    assert pip == [f"pip: -m pip install -q {pip_args} (PYTHONWARNINGS=ignore::UserWarning)"]
