"""Fixtures of the compose/ tests: the compose file as YAML, and the two programs in
compose/ (``offline-base`` and ``stack_init.py``, not installed: loaded from their paths)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

COMPOSE_DIR = Path(__file__).resolve().parents[2] / "compose"


def load_program(name: str, path: Path) -> ModuleType:
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def compose_file() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((COMPOSE_DIR / "docker-compose.yml").read_text())
    return data


@pytest.fixture(scope="session")
def offline_base() -> ModuleType:
    return load_program("offline_base", COMPOSE_DIR / "offline-base")


@pytest.fixture(scope="session")
def stack_init() -> ModuleType:
    return load_program("stack_init", COMPOSE_DIR / "stack_init.py")
