"""compose/offline-base: the commands it runs (mmdebstrap, docker build, pip wheel) and the
content tag that lets a built base be reused; nothing is built here (the compose e2e
scenario builds for real)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest


def test_the_base_tag_changes_with_what_goes_into_it_not_with_the_mirror(
        offline_base: ModuleType) -> None:
    tag = offline_base.base_tag("bookworm")
    assert tag.startswith("jetkube/offline-base:bookworm-")
    assert offline_base.base_tag("bookworm") == tag
    assert offline_base.base_tag("trixie") != tag
    assert offline_base.base_tag("bookworm", packages=("python3",)) != tag
    # the package order does not matter, the set does
    assert offline_base.base_tag("bookworm", packages=tuple(reversed(offline_base.PACKAGES))) == tag


def test_mmdebstrap_makes_python_and_the_host_tools_from_the_given_mirror(
        offline_base: ModuleType) -> None:
    argv = offline_base.mmdebstrap_argv("bookworm", "http://mirror.example/debian",
                                        Path("/tmp/base.tar"))
    assert argv[0] == "mmdebstrap" and "--variant=apt" in argv
    assert argv[-3:] == ["bookworm", "/tmp/base.tar", "http://mirror.example/debian"]
    (include,) = [a for a in argv if a.startswith("--include=")]
    assert set(include.removeprefix("--include=").split(",")) >= {
        "python3", "python3-venv", "ca-certificates", "iptables", "iproute2", "conntrack",
        "busybox-static"}
    assert "--dpkgopt=path-exclude=/usr/share/doc/*" in argv


def test_the_image_is_built_on_the_base_from_the_host_wheels_only(offline_base: ModuleType) -> None:
    argv = offline_base.docker_build_argv("jetkube/jetkube:x", "jetkube/offline-base:b-1")
    assert argv[:2] == ["docker", "build"]
    assert argv[argv.index("-f") + 1].endswith("compose/Dockerfile")
    args = [argv[i + 1] for i, a in enumerate(argv) if a == "--build-arg"]
    assert "BASE_IMAGE=jetkube/offline-base:b-1" in args
    assert "PIP_ARGS=--no-index --find-links=/src/compose/wheels jetkube" in args
    assert argv[argv.index("-t") + 1] == "jetkube/jetkube:x"
    assert Path(argv[-1]) == offline_base.REPO  # the context: the repository (.dockerignore)
    wheel = offline_base.pip_wheel_argv(offline_base.WHEELS)
    assert wheel[1:4] == ["-m", "pip", "wheel"] and wheel[-1] == str(offline_base.REPO)


def test_flags_default_to_the_environment(offline_base: ModuleType,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JETKUBE_IMAGE", "jetkube/jetkube:mine")
    monkeypatch.setenv("JETKUBE_DEBIAN_MIRROR", "http://mirror.example/debian")
    a = offline_base.parser().parse_args([])
    assert (a.image, a.mirror, a.suite, a.base_only) == (
        "jetkube/jetkube:mine", "http://mirror.example/debian", "bookworm", False)
    monkeypatch.delenv("JETKUBE_IMAGE")
    a = offline_base.parser().parse_args(["--base-only", "--suite", "trixie"])
    assert (a.image, a.suite, a.base_only) == ("jetkube/jetkube:dev", "trixie", True)


def test_without_mmdebstrap_it_says_what_to_install(offline_base: ModuleType,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(offline_base, "image_exists", lambda ref: False)
    monkeypatch.setattr(offline_base.shutil, "which", lambda name: None)
    with pytest.raises(SystemExit, match="apt-get install mmdebstrap"):
        offline_base.build_base("bookworm", offline_base.MIRROR)


def test_a_base_already_built_is_reused(offline_base: ModuleType,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(offline_base, "image_exists", lambda ref: True)
    monkeypatch.setattr(offline_base, "_run", lambda *a, **kw: pytest.fail("nothing to run"))
    assert offline_base.build_base("bookworm", offline_base.MIRROR) == (
        offline_base.base_tag("bookworm"), False)
