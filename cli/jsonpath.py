"""kubectl's JSONPath templates (``-o jsonpath=``, ``--sort-by``, ``-o custom-columns``,
``wait --for=jsonpath=``), as k8s.io/client-go/util/jsonpath reads them.

A template is text with ``{...}`` actions.  An action is a path (``{.a.b}``, ``{$.a}``),
a quoted literal (``{"\\n"}``), ``{range PATH}`` … ``{end}``, or several paths
separated by commas (``{.a,.b}``).  A path is made of steps: ``.field``, ``['field']``,
``..field`` (recursive descent), ``\\.`` for a dot inside a name
(``.metadata.labels.app\\.kubernetes\\.io/name``), ``.*`` / ``[*]``, ``[N]`` (negative from the end),
``[start:end:step]`` slices, ``[a,b]`` unions, and filters ``[?(@.type=="Ready")]``
(``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` against a number or quoted string, or
``[?(@.field)]``: has the field).  Missing fields select nothing (kubectl get's
``--allow-missing-template-keys=true``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import CliError

_FIELD = re.compile(r"(?:\\.|[A-Za-z0-9_\-/$])+")  # \. is a dot inside a name
_FILTER = re.compile(r"^\s*@((?:\.(?:\\.|[A-Za-z0-9_\-/])+|\[[^\]]*\])*)\s*"
                     r"(?:(==|!=|<=|>=|<|>|=~)\s*(.+?))?\s*$")
_ACTION = re.compile(r"\{((?:[^{}\"']|\"(?:\\.|[^\"\\])*\"|'[^']*')*)\}")

Step = tuple[str, Any]  # (kind, argument): field | recurse | wild | index | slice | keys | filter


def _bad(path: str, why: str) -> CliError:
    return CliError(f"error parsing jsonpath {path}: {why}")


def parse_path(path: str) -> list[Step]:
    """The steps of one path expression (``.items[?(@.a=="b")].metadata.name``)."""
    text = path.strip()
    if text.startswith("$"):
        text = text[1:]
    if text.startswith("@"):
        text = text[1:]
    steps: list[Step] = []
    i = 0
    while i < len(text):
        c = text[i]
        if text.startswith("..", i):
            m = _FIELD.match(text, i + 2)
            if text.startswith("*", i + 2):
                steps.append(("recurse", None))
                i += 3
                continue
            if not m:
                raise _bad(path, f"unexpected {text[i:]!r}")
            steps.append(("recurse", _name(m.group())))
            i = m.end()
        elif c == ".":
            if text.startswith("*", i + 1):
                steps.append(("wild", None))
                i += 2
                continue
            m = _FIELD.match(text, i + 1)
            if not m:
                if i + 1 == len(text):  # a lone "." is the current object
                    i += 1
                    continue
                raise _bad(path, f"unexpected {text[i:]!r}")
            steps.append(("field", _name(m.group())))
            i = m.end()
        elif c == "[":
            end = _closing(text, i, path)
            steps.append(_bracket(text[i + 1:end].strip(), path))
            i = end + 1
        elif c.isspace():
            i += 1
        else:
            m = _FIELD.match(text, i)
            if not m or steps:
                raise _bad(path, f"unrecognized character in action: {text[i:]!r}")
            steps.append(("field", _name(m.group())))
            i = m.end()
    return steps


def _name(text: str) -> str:
    """A field name with kubectl's escapes undone (``kubernetes\\.io`` → ``kubernetes.io``)."""
    return re.sub(r"\\(.)", r"\1", text)


def _closing(text: str, start: int, path: str) -> int:
    depth, quote = 0, ""
    for j in range(start, len(text)):
        ch = text[j]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
            if depth == 0 and ch == "]":
                return j
    raise _bad(path, "unterminated array")


def _bracket(inner: str, path: str) -> Step:
    if inner == "*":
        return ("wild", None)
    if inner.startswith("?"):
        body = inner[1:].strip()
        if not (body.startswith("(") and body.endswith(")")):
            raise _bad(path, f"invalid filter {inner!r}")
        m = _FILTER.match(body[1:-1])
        if not m:
            raise _bad(path, f"invalid filter {inner!r}")
        sub, op, lit = m.groups()
        return ("filter", (parse_path(sub or ""), op, None if op is None else _literal(lit)))
    if ":" in inner:
        parts = [p.strip() for p in inner.split(":")]
        try:
            nums = [int(p) if p else None for p in parts]
        except ValueError:
            raise _bad(path, f"invalid array index {inner!r}") from None
        return ("slice", [*nums, None, None][:3])
    keys = [k.strip() for k in inner.split(",")]
    out: list[Any] = []
    for k in keys:
        if k[:1] in "'\"" and k[-1:] == k[:1] and len(k) >= 2:
            out.append(k[1:-1])
        else:
            try:
                out.append(int(k))
            except ValueError:
                raise _bad(path, f"invalid array index {k!r}") from None
    return ("keys", out)


def _literal(text: str) -> Any:
    text = text.strip()
    if text[:1] in "'\"" and text[-1:] == text[:1] and len(text) >= 2:
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    try:
        return float(text) if "." in text else int(text)
    except ValueError:
        return text


def _compare(value: Any, op: str, lit: Any) -> bool:
    if op == "=~":
        return isinstance(value, str) and re.search(str(lit), value) is not None
    if isinstance(lit, (int, float)) and not isinstance(lit, bool):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return op == "!="
    elif type(value) is not type(lit):
        return op == "!="
    try:
        return bool({"==": value == lit, "!=": value != lit, "<": value < lit,
                     "<=": value <= lit, ">": value > lit, ">=": value >= lit}[op])
    except TypeError:
        return False


def _recurse(v: Any) -> list[Any]:
    out = [v]
    children = v.values() if isinstance(v, dict) else v if isinstance(v, list) else []
    for c in children:
        out.extend(_recurse(c))
    return out


def _apply(step: Step, values: list[Any]) -> list[Any]:
    kind, arg = step
    out: list[Any] = []
    for v in values:
        if kind == "field":
            if isinstance(v, dict) and arg in v:
                out.append(v[arg])
        elif kind == "recurse":
            for node in _recurse(v):
                if arg is None:
                    out.extend(node.values() if isinstance(node, dict) else
                               node if isinstance(node, list) else [])
                elif isinstance(node, dict) and arg in node:
                    out.append(node[arg])
        elif kind == "wild":
            out.extend(v.values() if isinstance(v, dict) else v if isinstance(v, list) else [])
        elif kind == "keys":
            for k in arg:
                if isinstance(k, int) and isinstance(v, list) and -len(v) <= k < len(v):
                    out.append(v[k])
                elif isinstance(k, str) and isinstance(v, dict) and k in v:
                    out.append(v[k])
        elif kind == "slice" and isinstance(v, list):
            start, end, stride = arg
            out.extend(v[slice(start, end, stride)])
        elif kind == "filter" and isinstance(v, list):
            sub, op, lit = arg
            for item in v:
                found = select(sub, [item])
                if (op is None and found) or (op is not None and found and
                                              _compare(found[0], op, lit)):
                    out.append(item)
    return out


def select(steps: list[Step], values: list[Any]) -> list[Any]:
    """What ``steps`` select from each of ``values``."""
    for step in steps:
        values = _apply(step, values)
    return values


def find(path: str, doc: Any) -> list[Any]:
    """What one path (``.a.b`` or ``{.a.b}``) selects in ``doc``."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    return select(parse_path(path), [doc])


def text(v: Any) -> str:
    """A value as kubectl's jsonpath prints it (objects and lists as compact JSON)."""
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"), ensure_ascii=False)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return "" if v is None else str(v)


Part = tuple[str, Any]  # lit | expr (list of paths) | range (steps) | end


def parse_template(template: str) -> list[Part]:
    template = template.strip()
    if len(template) >= 2 and template[0] == template[-1] and template[0] in "'\"":
        template = template[1:-1]
    if "{" not in template:
        template = "{" + template + "}"
    parts: list[Part] = []
    pos = 0
    for m in _ACTION.finditer(template):
        if m.start() > pos:
            parts.append(("lit", template[pos:m.start()]))
        body = m.group(1).strip()
        if body.startswith("range "):
            parts.append(("range", parse_path(body[6:])))
        elif body == "end":
            parts.append(("end", None))
        elif body[:1] in "'\"" and body[-1:] == body[:1] and len(body) >= 2:
            parts.append(("lit", body[1:-1].encode().decode("unicode_escape")))
        else:
            parts.append(("expr", [parse_path(p) for p in _split_union(body)]))
        pos = m.end()
    if pos < len(template):
        parts.append(("lit", template[pos:]))
    return parts


def _split_union(body: str) -> list[str]:
    """``.a,.b`` → two paths; commas inside brackets stay."""
    out, depth, cur = [], 0, ""
    for ch in body:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    return [*out, cur]


def evaluate(template: str, doc: Any) -> str:
    """The text a template renders for ``doc``."""
    out, _ = _run(parse_template(template), 0, [doc])
    return out


def evaluate_json(template: str, doc: Any) -> str:
    """``-o jsonpath-as-json``: what the template's paths select, as a JSON array."""
    values: list[Any] = []
    for kind, arg in parse_template(template):
        if kind == "expr":
            for steps in arg:
                values.extend(select(steps, [doc]))
    return json.dumps(values, indent=4, ensure_ascii=False)


def _run(parts: list[Part], i: int, ctx: list[Any]) -> tuple[str, int]:
    out: list[str] = []
    while i < len(parts):
        kind, arg = parts[i]
        if kind == "lit":
            out.append(arg)
        elif kind == "expr":
            out.append(" ".join(text(v) for steps in arg for v in select(steps, ctx)))
        elif kind == "range":
            items = select(arg, ctx)
            end = _skip(parts, i + 1)
            for item in items:
                s, _ = _run(parts, i + 1, [item])
                out.append(s)
            i = end
        elif kind == "end":
            return "".join(out), i
        i += 1
    return "".join(out), i


def _skip(parts: list[Part], i: int) -> int:
    """The index of the ``end`` that closes the range whose body starts at ``i``."""
    depth = 0
    while i < len(parts):
        if parts[i][0] == "range":
            depth += 1
        elif parts[i][0] == "end":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    raise CliError("error parsing jsonpath: not in range, nothing to end")
