"""An ``Accept`` header is parsed once: a client sends the same one with every request
(kubectl's Table offer, a client library's JSON), so its media ranges are remembered; a
header without quotes is split at once, one with quotes outside them only."""

from __future__ import annotations

from jetkube.services.apiserver.tables import (
    ACCEPT_KEPT_MAX,
    MediaRange,
    _remembered_accept,
    _split,
    parse_accept,
)

KUBECTL = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def test_the_same_header_gives_the_same_ranges_parsed_once() -> None:
    _remembered_accept.cache_clear()
    first = parse_accept(KUBECTL)
    assert first == (MediaRange("application", "json", {"as": "Table", "v": "v1",
                                                        "g": "meta.k8s.io"}),
                     MediaRange("application", "json", {}))
    assert parse_accept(KUBECTL) is first
    assert _remembered_accept.cache_info().hits == 1
    long = ",".join(["application/json"] * (ACCEPT_KEPT_MAX // 16 + 1))  # not kept
    assert len(parse_accept(long)) == ACCEPT_KEPT_MAX // 16 + 1
    assert _remembered_accept.cache_info().currsize == 1


def test_a_separator_inside_quotes_does_not_split() -> None:
    assert _split('a;b="x,y";c', ",") == ['a;b="x,y";c']
    assert _split('a;b="x,y",d', ",") == ['a;b="x,y"', "d"]
    assert _split("a, b,,c", ",") == ["a", " b", "", "c"]
    ranges = parse_accept('application/json;p="1,2";q=0.5, */*;q=0.9')
    assert [(r.type, r.subtype, r.params, r.q) for r in ranges] == [
        ("*", "*", {}, 0.9), ("application", "json", {"p": "1,2"}, 0.5)]
