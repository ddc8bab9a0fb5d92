"""Resource quantities parse to exact Decimals with Kubernetes' grammar;
malformed ones raise ValueError naming the value."""

from __future__ import annotations

from decimal import Decimal

import pytest

from jetkube.schemas import (
    add_quantities,
    compare_quantities,
    cpu_millis,
    format_quantity,
    load_object,
    parse_quantity,
    to_bytes,
)
from jetkube.schemas.errors import SchemaError
from jetkube.schemas.quantity import MAX_QUANTITY
from jetkube.schemas.registry import PODS


@pytest.mark.parametrize(("text", "value"), [
    ("500m", Decimal("0.5")),
    ("1.5", Decimal("1.5")),
    ("128Mi", Decimal(128 * 2**20)),
    ("1G", Decimal(10**9)),
    ("1e3", Decimal(1000)),
    ("1E3", Decimal(1000)),
    ("1e-3", Decimal("0.001")),
    ("0.5Gi", Decimal(2**29)),
    ("100n", Decimal("0.0000001")),
    ("1Ki", Decimal(1024)),
    ("2E", Decimal(2 * 10**18)),
    ("2Ei", Decimal(2 * 2**60)),
    ("1k", Decimal(1000)),
    ("10u", Decimal("0.00001")),
    ("0", Decimal(0)),
    (".5", Decimal("0.5")),
    ("1.", Decimal(1)),
    ("+3", Decimal(3)),
    ("-1", Decimal(-1)),
    (1, Decimal(1)),
    (0.5, Decimal("0.5")),
    (2.0, Decimal(2)),
])
def test_parse_quantity_is_exact(text: str | int | float, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("bad", ["1.2.3", "5XB", "", "m", "1e", "1 Gi", "Gi", "1GiB", "0x10",
                                 "1KI", "--1", "1.5.Mi"])
def test_malformed_quantities_raise_naming_the_value(bad: str) -> None:
    with pytest.raises(ValueError, match=repr(bad).replace(".", r"\.")):
        parse_quantity(bad)


def test_non_numbers_are_refused() -> None:
    with pytest.raises(ValueError):
        parse_quantity(True)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        parse_quantity(float("inf"))


def test_cpu_millis_and_bytes_round_up_like_kubernetes() -> None:
    assert cpu_millis("500m") == 500
    assert cpu_millis(1) == 1000
    assert cpu_millis("0.1") == 100
    assert cpu_millis("1500u") == 2  # 1.5m rounds up
    assert cpu_millis("2") == 2000
    assert to_bytes("1Ki") == 1024
    assert to_bytes("128Mi") == 134217728
    assert to_bytes("1G") == 10**9
    assert to_bytes("0.5") == 1
    assert to_bytes("1e3") == 1000


def test_add_and_compare() -> None:
    assert add_quantities("500m", "1.5", 1) == Decimal(3)
    assert add_quantities("1Gi", "512Mi") == Decimal(1536 * 2**20)
    assert compare_quantities("1Gi", "1G") == 1
    assert compare_quantities("1000m", 1) == 0
    assert compare_quantities("100m", "0.2") == -1


@pytest.mark.parametrize(("value", "binary", "text"), [
    (Decimal("0.5"), False, "500m"),
    (Decimal(1500), False, "1500"),
    (Decimal(2000), False, "2k"),
    (Decimal(0), False, "0"),
    (2**30, True, "1Gi"),
    (1536 * 2**20, True, "1536Mi"),
    (1000, True, "1000"),
])
def test_format_quantity(value: Decimal | int, binary: bool, text: str) -> None:
    assert format_quantity(value, binary) == text
    assert parse_quantity(text) == Decimal(value)


def test_manifest_numbers_are_accepted_and_serialized_as_strings() -> None:
    out = load_object(PODS, {"metadata": {"name": "p"}, "spec": {"containers": [{
        "name": "c", "image": "x", "resources": {"limits": {"cpu": 1, "memory": "1Gi"},
                                                 "requests": {"cpu": 0.5}}}]}})
    res = out["spec"]["containers"][0]["resources"]
    assert res == {"limits": {"cpu": "1", "memory": "1Gi"},
                   "requests": {"cpu": "0.5", "memory": "1Gi"}}


@pytest.mark.parametrize("text", [
    "999999999999999999", "1000000000000000000", "9223372036854775807", "9223372036854775808",
    "999999999999999k", "9223372036854775E3",
    "9223372036854776E3", "7Ei", "8Ei", "8191Pi", "8192Pi", "0.999Ei", "8796093022207Mi",
    "8796093022208Mi", "9.223372036854775807e18", "9.223372036854775808e18", "922337203685477580700m",
    "922337203685477580800m", "1e18", "1e19", "0.5", "10m", "128Mi",
])
def test_the_range_check_agrees_with_the_exact_value_on_both_sides_of_its_short_cut(
        text: str) -> None:
    """A quantity under 10^18 is accepted without its exact value; the check's answer is the
    exact value's on either side of that bound, for decimal and binary suffixes alike."""
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {
        "containers": [{"name": "c", "image": "i", "resources": {"limits": {"memory": text}}}]}}
    in_range = abs(parse_quantity(text)) <= MAX_QUANTITY
    if in_range:
        load_object(PODS, body)
    else:
        with pytest.raises(SchemaError, match="must be"):
            load_object(PODS, body)
