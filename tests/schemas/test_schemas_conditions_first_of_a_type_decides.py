"""``get_condition`` / ``condition_is_true`` (Kubernetes' GetPodCondition,
GetNodeCondition, IsPodReady): the first condition of a type in ``status.conditions``
decides; a missing one, or one not ``"True"``, is not true."""

from __future__ import annotations

import pytest

from jetkube.schemas.objects import Obj, condition_is_true, get_condition


def obj(*conds: Obj) -> Obj:
    return {"status": {"conditions": list(conds)}}


@pytest.mark.parametrize(("status", "want"), [("True", True), ("False", False),
                                              ("Unknown", False), (None, False)])
def test_only_status_true_is_true(status: str | None, want: bool) -> None:
    assert condition_is_true(obj({"type": "Ready", "status": status}), "Ready") is want


@pytest.mark.parametrize("o", [None, {}, {"status": None}, {"status": {}},
                               {"status": {"conditions": None}},
                               obj({"type": "PodScheduled", "status": "True"}),
                               obj("junk", {"status": "True"})])
def test_a_missing_condition_is_none_and_not_true(o: Obj | None) -> None:
    assert get_condition(o, "Ready") is None
    assert condition_is_true(o, "Ready") is False


def test_the_first_condition_of_a_type_decides() -> None:
    o = obj({"type": "Ready", "status": "False"}, {"type": "Ready", "status": "True"})
    assert get_condition(o, "Ready") == {"type": "Ready", "status": "False"}
    assert condition_is_true(o, "Ready") is False


def test_get_condition_returns_the_dict_itself() -> None:
    o = obj({"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"})
    c = get_condition(o, "Ready")
    assert c is o["status"]["conditions"][1]
    assert condition_is_true(o, "Ready") and not condition_is_true(o, "MemoryPressure")
