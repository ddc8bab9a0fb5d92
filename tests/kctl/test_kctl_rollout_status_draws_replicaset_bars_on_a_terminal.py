"""kctl rollout status on a terminal: a live display with a progress bar per ReplicaSet,
ending with kubectl's final line; piped or with NO_COLOR, exactly kubectl's lines."""

from __future__ import annotations

import pytest
from kctl_fakeapi import Kctl
from kctl_fakeapps import AppsFakeApi, deployment, replicaset
from kctl_terminal import ESC, on_terminal, plain

pytestmark = pytest.mark.fake_api(cls=AppsFakeApi)

KUBECTL_LINES = [
    'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been '
    "updated...",
    'Waiting for deployment "web" rollout to finish: 2 old replicas are pending termination...',
    'deployment "web" successfully rolled out',
]


def rolling(api: AppsFakeApi) -> None:
    """web moves from nginx:1.25 (web-old, 2 pods left) to nginx:1.26 (web-new)."""
    api.add("deployments", deployment(image="nginx:1.26", revision=2,
                                      status={"updatedReplicas": 1, "readyReplicas": 1}))
    api.add("replicasets", replicaset("web", "old", "nginx:1.25", 1, replicas=2))
    new = replicaset("web", "new", "nginx:1.26", 2, replicas=3,
                     created="2024-01-02T00:00:00Z")
    new["status"]["readyReplicas"] = 1
    api.add("replicasets", new)
    api.watch_events = [
        {"type": "MODIFIED", "object": deployment(image="nginx:1.26", revision=2,
                                                  status={"replicas": 5})},
        {"type": "MODIFIED", "object": deployment(image="nginx:1.26", revision=2)},
    ]


def test_a_terminal_gets_a_bar_per_replicaset_then_kubectls_final_line(
        api: AppsFakeApi, kctl: Kctl, monkeypatch: pytest.MonkeyPatch) -> None:
    rolling(api)
    code, out = on_terminal(kctl, monkeypatch, "rollout", "status", "deployment/web")
    assert code == 0
    assert ESC in out and "━" in out  # colour and the bars
    seen = plain(out)
    assert KUBECTL_LINES[0] in seen  # the current line, behind a spinner
    new_row = next(ln for ln in seen.splitlines() if "web-new" in ln)
    assert "1/3 updated, 1/3 ready" in new_row
    old_row = next(ln for ln in seen.splitlines() if "web-old" in ln)
    assert "2 replicas left" in old_row
    assert seen.splitlines()[-1] == KUBECTL_LINES[-1]
    assert seen.count(KUBECTL_LINES[-1]) == 1


def test_piped_output_is_kubectls_lines_without_escape_codes(api: AppsFakeApi,
                                                              kctl: Kctl) -> None:
    rolling(api)
    code, out, err = kctl("rollout", "status", "deployment/web")
    assert code == 0, err
    assert out.splitlines() == KUBECTL_LINES
    assert "\x1b" not in out


def test_no_color_on_a_terminal_prints_kubectls_lines(
        api: AppsFakeApi, kctl: Kctl, monkeypatch: pytest.MonkeyPatch) -> None:
    rolling(api)
    code, out = on_terminal(kctl, monkeypatch, "rollout", "status", "deployment/web",
                            env={"NO_COLOR": "1"})
    assert code == 0
    assert out == "".join(line + "\n" for line in KUBECTL_LINES)


def test_a_failed_rollout_on_a_terminal_ends_the_display_and_reports_the_error(
        api: AppsFakeApi, kctl: Kctl, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    rolling(api)
    api.watch_events = [{"type": "MODIFIED", "object": deployment(
        image="nginx:1.26", revision=2, status={"updatedReplicas": 1, "conditions": [
            {"type": "Progressing", "status": "False",
             "reason": "ProgressDeadlineExceeded"}]})}]
    capsys.readouterr()
    code, out = on_terminal(kctl, monkeypatch, "rollout", "status", "deployment/web")
    assert code == 1
    assert capsys.readouterr().err.strip() == (
        'error: deployment "web" exceeded its progress deadline')
    assert out.endswith(ESC + "?25h")  # the live display gave the cursor back
    assert "successfully rolled out" not in out
