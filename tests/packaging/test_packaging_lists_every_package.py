"""Every source package is listed in pyproject.toml, so `pip install .` ships it."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_folder_with_an_init_is_a_listed_package() -> None:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(cfg["packages"])
    dirs = cfg["package-dir"]
    expected = {"jetkube"}
    for name, folder in dirs.items():
        if name == "jetkube":
            continue
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            expected.add(".".join([name, *rel.parts]) if rel.parts else name)
    assert expected == listed, f"missing: {expected - listed}, stale: {listed - expected}"


def test_installed_names_live_under_one_root() -> None:
    import jetkube.cli
    import jetkube.schemas
    import jetkube.services.apiserver
    import jetkube.services.machinery

    for mod in (jetkube.cli, jetkube.schemas, jetkube.services.machinery,
                jetkube.services.apiserver):
        assert mod.__name__.startswith("jetkube.")
