"""YAML request bodies to JSON values, within limits.py's bounds, in one pass of parser
events without recursion (libyaml's parser when it is there, else PyYAML's; neither
recurses, PyYAML's composer and libyaml's do). A collection past ``MAX_DEPTH`` or an entry
past ``MAX_NODES`` (an alias adds everything its anchor holds) stops the parse where it is,
before the rest of the body is read, and each mapping key given twice is recorded with
its path (decode.py applies ``fieldValidation`` to them).

Values are what Kubernetes' YAML-to-JSON conversion (sigs.k8s.io/yaml) makes them:
timestamps and ``!!binary`` stay text, keys become strings, ``<<`` merges as in YAML 1.1;
sets, ordered maps, other tags, integers beyond 64 bits, NaN and infinities, which JSON
cannot hold, are refused (400).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import orjson
import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from ..machinery.apimachinery import apierrors
from .limits import MAX_DEPTH, MAX_NODES, too_deep, too_many


def decode_yaml(body: bytes) -> tuple[Any, list[str]]:
    """The JSON value of a one-document YAML ``body`` and the paths of its duplicate keys."""
    parser = _Parser(body)
    try:
        return _Composer().run(parser)
    except yaml.YAMLError as err:
        if "maximum nesting depth" in str(err):  # libyaml scans ahead, and stops at 1,000
            raise too_deep() from None
        raise apierrors.bad_request(f"the request body is not valid YAML: {err}") from None
    finally:
        parser.dispose()


class _Scalars(SafeConstructor):
    """Scalars as JSON values, as sigs.k8s.io/yaml converts YAML to JSON: timestamps and
    ``!!binary`` stay text; integers beyond 64 bits and NaN/infinities are refused."""

    def json_int(self, node: ScalarNode) -> int:
        value = self.construct_yaml_int(node)
        if not -(1 << 63) <= value < 1 << 64:
            raise _yaml_error(f"the integer {node.value} does not fit in 64 bits", node)
        return value

    def json_float(self, node: ScalarNode) -> float:
        value = self.construct_yaml_float(node)
        if not math.isfinite(value):
            raise _yaml_error(f"{node.value} is not a finite number (JSON has no NaN or "
                              "infinity)", node)
        return value

    def construct(self, tag: str, node: ScalarNode) -> Any:
        name = tag.removeprefix(_YAML_TAG) if tag.startswith(_YAML_TAG) else ""
        if name in ("str", "timestamp", "binary", "value", "merge"):
            return node.value
        if name == "null":
            return None
        parse = {"bool": self.construct_yaml_bool, "int": self.json_int,
                 "float": self.json_float}.get(name)
        if parse is None:
            raise _yaml_error(f"the tag {tag} has no JSON form", node)
        try:
            return parse(node)
        except (ValueError, LookupError, TypeError):  # e.g. ``!!int`` on no digits
            raise _yaml_error(f"{node.value!r} is no {name}", node) from None


_YAML_TAG = "tag:yaml.org,2002:"
_MAP, _SEQ, _MERGE = f"{_YAML_TAG}map", f"{_YAML_TAG}seq", f"{_YAML_TAG}merge"
_RESOLVER: Any = Resolver()
_NO_KEY: Any = object()
_MERGE_KEY: Any = object()


def _yaml_error(message: str, at: Any) -> apierrors.ApiError:
    mark = getattr(at, "start_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return apierrors.bad_request(f"the request body is not valid YAML: {message}{where}")


@dataclass(slots=True)
class _Open:
    """A collection being composed."""

    value: Any  # dict or list
    path: str
    anchor: str | None
    nodes_before: int
    height: int = 1  # levels of collections, this one included
    key: Any = _NO_KEY  # a mapping's key waiting for its value
    seen: set[str] = field(default_factory=set)
    merges: list[Any] = field(default_factory=list)


class _Composer:
    """YAML events to a JSON value in one pass, without recursion, counting as it goes:
    a collection past :data:`MAX_DEPTH` or an entry past :data:`MAX_NODES` (an alias adds
    everything its anchor holds) stops the parse where it is. Mapping keys given twice
    are recorded with their path; ``<<`` merges as in YAML 1.1 (and go-yaml)."""

    def __init__(self) -> None:
        self.scalars = _Scalars()
        self.anchors: dict[str, tuple[Any, int, int] | None] = {}  # None: still open
        self.open: list[_Open] = []
        self.nodes = 0
        self.duplicates: dict[str, None] = {}  # ordered, and a set
        self.aliased = False
        self.root: Any = None

    def run(self, parser: Any) -> tuple[Any, list[str]]:
        documents = 0
        while not isinstance(event := parser.get_event(), yaml.StreamEndEvent):
            if isinstance(event, yaml.ScalarEvent):
                mark: Any = event.start_mark
                tag = event.tag
                if tag is None or tag == "!":
                    tag = _RESOLVER.resolve(ScalarNode, event.value, event.implicit)
                if tag == _MERGE and self.open and self._wants_key():
                    self._add(_MERGE_KEY, 0, event)
                    continue
                node = ScalarNode(tag, event.value, mark, mark)
                value = self.scalars.construct(tag, node)
                self._anchor(event.anchor, value, 0, 0)
                self._add(value, 0, event)
            elif isinstance(event, yaml.CollectionStartEvent):
                self._start(event)
            elif isinstance(event, yaml.CollectionEndEvent):
                self._end()
            elif isinstance(event, yaml.AliasEvent):
                self._alias(event)
            elif isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise _yaml_error("expected a single document in the stream", event)
        data = self.root
        if self.aliased:  # one copy per use, as Go's decoder makes (and within MAX_NODES)
            data = orjson.loads(orjson.dumps(data))
        return data, list(self.duplicates)

    def _wants_key(self) -> bool:
        top = self.open[-1]
        return isinstance(top.value, dict) and top.key is _NO_KEY

    def _child_path(self) -> str:
        if not self.open:
            return ""
        top = self.open[-1]
        if isinstance(top.value, list):
            return f"{top.path}[{len(top.value)}]"
        key = "?" if top.key is _NO_KEY or top.key is _MERGE_KEY else top.key
        return f"{top.path}.{key}" if top.path else str(key)

    def _start(self, event: Any) -> None:
        path = self._child_path()
        if len(self.open) >= MAX_DEPTH:
            raise too_deep(path)
        tag = event.tag
        mapping = isinstance(event, yaml.MappingStartEvent)
        if tag not in (None, "!", _MAP if mapping else _SEQ):
            raise _yaml_error(f"the tag {tag} has no JSON form", event)
        if event.anchor is not None:
            self.anchors[event.anchor] = None
        self.open.append(_Open({} if mapping else [], path, event.anchor, self.nodes))

    def _end(self) -> None:
        done = self.open.pop()
        value = done.value
        if done.merges:  # explicit keys win, then the first merged mapping
            merged: dict[str, Any] = {}
            for m in reversed(done.merges):
                merged.update(m)
            merged.update(value)
            value = merged
        self._anchor(done.anchor, value, self.nodes - done.nodes_before, done.height)
        self._add(value, done.height, None)

    def _alias(self, event: Any) -> None:
        if event.anchor not in self.anchors:
            raise _yaml_error(f"found undefined alias {event.anchor!r}", event)
        held = self.anchors[event.anchor]
        if held is None:
            raise _yaml_error(f"the anchor {event.anchor!r} holds itself", event)
        value, nodes, height = held
        if height and len(self.open) + height > MAX_DEPTH:
            raise too_deep(self._child_path())
        self.aliased = True
        self._count(nodes)
        self._add(value, height, event)

    def _anchor(self, anchor: str | None, value: Any, nodes: int, height: int) -> None:
        if anchor is not None:
            self.anchors[anchor] = (value, nodes, height)

    def _count(self, n: int) -> None:
        self.nodes += n
        if self.nodes > MAX_NODES:
            raise too_many()

    def _add(self, value: Any, height: int, event: Any) -> None:
        if not self.open:
            self.root = value
            return
        top = self.open[-1]
        if isinstance(top.value, list):
            top.value.append(value)
        elif top.key is _NO_KEY:  # a key: a scalar, as JSON's are strings
            if height or isinstance(value, dict | list):
                raise _yaml_error("a mapping key must be a string, number, boolean or null",
                                  event)
            key = value if value is _MERGE_KEY or isinstance(value, str) else _key_text(value)
            if key is not _MERGE_KEY:
                if key in top.seen:
                    where = f"{top.path}.{key}" if top.path else key
                    self.duplicates[where] = None
                top.seen.add(key)
            top.key = key
            return
        elif top.key is _MERGE_KEY:
            merges = value if isinstance(value, list) else [value]
            if not all(isinstance(m, dict) for m in merges):
                raise _yaml_error("a merge (<<) takes a mapping or a list of mappings", event)
            top.merges.extend(merges)
            top.key = _NO_KEY
        else:
            top.value[top.key] = value
            top.key = _NO_KEY
        top.height = max(top.height, height + 1)
        self._count(1)


def _key_text(key: Any) -> str:
    if isinstance(key, bool) or key is None or isinstance(key, float):
        return orjson.dumps(key).decode()
    return str(key)


class _PyParser(Reader, Scanner, Parser):
    """PyYAML's own parser (no recursion either), when libyaml is not there."""

    def __init__(self, stream: bytes) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)


def _parser_class() -> Any:
    try:
        from yaml import _yaml  # type: ignore[attr-defined]
    except ImportError:
        return _PyParser
    return _yaml.CParser


_Parser: Any = _parser_class()
