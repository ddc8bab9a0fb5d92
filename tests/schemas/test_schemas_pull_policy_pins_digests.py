"""One image pull policy default (SetDefaults_Container), used by the API's
defaulting and by the kubelet alike: ``Always`` for ``:latest`` or for an
image with neither tag nor digest, ``IfNotPresent`` otherwise (a digest pins)."""

from __future__ import annotations

import pytest

from jetkube.schemas import default_pull_policy
from jetkube.services.kubelet.containers import pull_policy

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(("image", "policy"), [
    ("busybox", "Always"),
    ("busybox:latest", "Always"),
    ("busybox:1.36", "IfNotPresent"),
    (f"busybox@{DIGEST}", "IfNotPresent"),
    (f"busybox:1.36@{DIGEST}", "IfNotPresent"),
    (f"busybox:latest@{DIGEST}", "Always"),  # the tag is still "latest" (ParseImageName)
    ("registry.local:5000/team/busybox", "Always"),  # a port is not a tag
    ("registry.local:5000/team/busybox:1.36", "IfNotPresent"),
    (f"registry.local:5000/team/busybox@{DIGEST}", "IfNotPresent"),
    ("registry.local:5000/team/busybox:latest", "Always"),
])
def test_api_defaulting_and_kubelet_agree(image: str, policy: str) -> None:
    assert default_pull_policy(image) == policy
    assert pull_policy({"name": "c", "image": image}) == policy


def test_kubelet_keeps_an_explicit_policy() -> None:
    assert pull_policy({"image": "busybox", "imagePullPolicy": "Never"}) == "Never"
    assert pull_policy({"image": "busybox:1.36", "imagePullPolicy": "Always"}) == "Always"
