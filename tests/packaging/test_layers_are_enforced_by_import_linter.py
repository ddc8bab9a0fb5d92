"""The import-linter contracts in pyproject.toml hold on the source, and break when a
service imports another, when schemas does I/O, or when a layer imports nats-py.

Each case copies the source tree (as the ``jetkube`` import root) into a temporary
directory, first shows the copy passes, then adds one forbidden import and shows
``lint-imports`` fails naming the contract."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")
SOURCES = {"schemas": "schemas", "services": "services", "cli": "cli"}


def _tree(tmp: Path) -> Path:
    """A copy of the source laid out as the installed package (``jetkube/…``)."""
    pkg = tmp / "src" / "jetkube"
    shutil.copytree(ROOT / "jetkube_root", pkg)
    for name, src in SOURCES.items():
        shutil.copytree(ROOT / src, pkg / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp / "pyproject.toml")
    return tmp


def _lint(tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tmp / "src")}
    return subprocess.run([str(LINT), "--no-cache"], cwd=tmp, env=env, text=True,
                          capture_output=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def clean_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = _tree(tmp_path_factory.mktemp("layers"))
    result = _lint(tmp)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 6 kept, 0 broken." in result.stdout
    return tmp


def _violate(clean: Path, tmp: Path, module: str, line: str) -> subprocess.CompletedProcess[str]:
    tree = tmp / "t"
    shutil.copytree(clean, tree)
    target = tree / "src" / "jetkube" / module
    target.write_text(target.read_text() + f"\n{line}\n")
    return _lint(tree)


@pytest.mark.parametrize(("module", "line", "contract", "names"), [
    ("services/apiserver/handlers.py", "from jetkube.services.scheduler import framework",
     "Services never import each other", "jetkube.services.apiserver.handlers -> "
     "jetkube.services.scheduler.framework"),
    ("services/kubelet/agent.py", "import jetkube.services.proxy.rules",
     "Services never import each other", "jetkube.services.kubelet.agent -> "
     "jetkube.services.proxy.rules"),
    ("schemas/pod.py", "import socket", "schemas does no I/O", "jetkube.schemas.pod -> socket"),
    ("services/controllers/job.py", "import nats", "nats-py is imported only by",
     "jetkube.services.controllers.job -> nats"),
    ("services/machinery/store/_contract.py", "from jetkube.services.machinery import client",
     "machinery's own layers", "jetkube.services.machinery.store._contract -> "
     "jetkube.services.machinery.client"),
    ("services/dns/resolver.py", "from jetkube.services.machinery import hostnet",
     "hostnet is used only by", "jetkube.services.dns.resolver -> jetkube.services.machinery.hostnet"),
    ("schemas/meta.py", "from jetkube.cli import main",
     "Top-level layers", "jetkube.schemas.meta -> jetkube.cli.main"),
])
def test_a_forbidden_import_breaks_its_contract(clean_tree: Path, tmp_path: Path, module: str,
                                                line: str, contract: str, names: str) -> None:
    result = _violate(clean_tree, tmp_path, module, line)
    assert result.returncode != 0
    broken = " ".join(result.stdout.split("Broken contracts", 1)[-1].split())  # unwrap lines
    assert contract in broken
    assert names in broken


# Import circles: strongly connected components of the module graph (every import
# statement counts, also those under ``if TYPE_CHECKING:`` and inside functions).
_CIRCLES = """
import sys, grimp
g = grimp.build_graph("jetkube", cache_dir=None)
index, low, on, stack, n = {}, {}, set(), [], 0
def edges(m):
    return sorted(x for x in g.find_modules_directly_imported_by(m) if x.startswith("jetkube"))
for root in sorted(g.modules):
    if root in index:
        continue
    index[root] = low[root] = n; n += 1; stack.append(root); on.add(root)
    work = [(root, iter(edges(root)))]
    while work:
        v, it = work[-1]
        for w in it:
            if w not in index:
                index[w] = low[w] = n; n += 1; stack.append(w); on.add(w)
                work.append((w, iter(edges(w)))); break
            if w in on:
                low[v] = min(low[v], index[w])
        else:
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop(); on.discard(w); comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    print(" ".join(sorted(comp)))
"""


def _circles(tree: Path) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    result = subprocess.run([sys.executable, "-c", _CIRCLES], env=env, text=True,
                            capture_output=True, timeout=120, check=True)
    return result.stdout.splitlines()


def test_there_is_no_import_circle(clean_tree: Path) -> None:
    assert _circles(clean_tree) == []


def test_a_planted_import_circle_is_found(clean_tree: Path, tmp_path: Path) -> None:
    tree = tmp_path / "t"
    shutil.copytree(clean_tree, tree)
    staticpods = tree / "src" / "jetkube" / "services" / "kubelet" / "staticpods.py"
    staticpods.write_text(staticpods.read_text()
                          + "\nfrom jetkube.services.kubelet import agent  # noqa\n")
    assert _circles(tree) == ["jetkube.services.kubelet.agent jetkube.services.kubelet.staticpods"]
