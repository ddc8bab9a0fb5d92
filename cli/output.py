"""Object output formats: ``-o yaml|json|name|jsonpath=...``, and kubectl's ``List`` wrapper.

JSON is indented by four spaces and YAML keys are sorted, as kubectl prints
them.  ``jsonpath`` supports the subset scripts use: ``{.a.b}``, ``{.a[0]}``,
``{.items[*].metadata.name}``, ``{range .items[*]}...{end}`` and quoted
literals like ``{"\\n"}``.
"""

from __future__ import annotations

import functools
import json
import re
from typing import TYPE_CHECKING, Any

from .errors import CliError

if TYPE_CHECKING:  # yaml is imported for -o yaml only; Obj is a type (its package: pydantic)
    import yaml

    from jetkube.schemas.objects import Obj

FORMATS = ("wide", "yaml", "json", "name")


def check_format(fmt: str | None) -> None:
    if fmt is None or fmt in FORMATS or fmt.startswith(("jsonpath=", "jsonpath-as-json=")):
        return
    raise CliError(f'unable to match a printer suitable for the output format "{fmt}", '
                   "allowed formats are: json,jsonpath,name,wide,yaml")


def as_list(items: list[Obj]) -> Obj:
    return {"apiVersion": "v1", "items": items, "kind": "List",
            "metadata": {"resourceVersion": ""}}


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=4, sort_keys=True, ensure_ascii=False)


@functools.cache
def _dumper() -> type[yaml.SafeDumper]:
    """kubectl's YAML: block style for multi-line text; double quotes where a plain scalar
    would read back as something else (``"15"``, ``"true"``, timestamps)."""
    import yaml

    tag = "tag:yaml.org,2002:str"

    def str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
        if "\n" in data:
            return dumper.represent_scalar(tag, data, style="|")
        resolve: Any = dumper.resolve  # untyped in the stubs
        if data == "" or resolve(yaml.ScalarNode, data, (True, False)) != tag:
            return dumper.represent_scalar(tag, data, style='"')
        return dumper.represent_scalar(tag, data)

    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(str, str_presenter)
    return Dumper


def to_yaml(obj: Any) -> str:
    import yaml

    return yaml.dump(obj, Dumper=_dumper(), sort_keys=True, default_flow_style=False,
                     allow_unicode=True)


def format_objects(objs: list[Obj], fmt: str, *, single: bool) -> str:
    """Render objects in a machine format; ``single``: print the object, not a List."""
    doc: Any = objs[0] if single and len(objs) == 1 else as_list(objs)
    if fmt == "json":
        return to_json(doc)
    if fmt == "yaml":
        return to_yaml(doc).rstrip("\n")
    if fmt.startswith("jsonpath"):
        _, _, template = fmt.partition("=")
        return jsonpath(template, doc)
    raise CliError(f"unknown output format {fmt!r}")


# --- jsonpath (subset) ------------------------------------------------------

_TOKEN = re.compile(r"\{((?:[^{}\"']|\"[^\"]*\"|'[^']*')*)\}")
_STEP = re.compile(r"\.([A-Za-z0-9_\-$]+)|\[(\*|-?\d+|'[^']*'|\"[^\"]*\")\]|\.\.?\*")


def _select(values: list[Any], path: str) -> list[Any]:
    path = path.strip()
    if path.startswith("$"):
        path = path[1:]
    if path in ("", "."):
        return values
    pos = 0
    for m in _STEP.finditer(path):
        if m.start() != pos:
            raise CliError(f"error parsing jsonpath {path!r}: unexpected {path[pos:]!r}")
        pos = m.end()
        nxt: list[Any] = []
        key, idx = m.group(1), m.group(2)
        for v in values:
            if key is not None:
                if isinstance(v, dict) and key in v:
                    nxt.append(v[key])
            elif idx == "*" or (key is None and idx is None):
                if isinstance(v, list):
                    nxt.extend(v)
                elif isinstance(v, dict):
                    nxt.extend(v.values())
            elif idx is not None and idx[0] in "'\"":
                if isinstance(v, dict) and idx[1:-1] in v:
                    nxt.append(v[idx[1:-1]])
            elif idx is not None and isinstance(v, list):
                i = int(idx)
                if -len(v) <= i < len(v):
                    nxt.append(v[i])
        values = nxt
    if pos != len(path):
        raise CliError(f"error parsing jsonpath {path!r}: unexpected {path[pos:]!r}")
    return values


def _text(v: Any) -> str:
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"))
    if isinstance(v, bool):
        return "true" if v else "false"
    return "" if v is None else str(v)


def jsonpath(template: str, doc: Any) -> str:
    template = template.strip()
    if len(template) >= 2 and template[0] == template[-1] and template[0] in "'\"":
        template = template[1:-1]
    if "{" not in template:
        template = "{" + template + "}"
    parts: list[tuple[str, str]] = []  # (kind, text): lit | expr | range | end
    pos = 0
    for m in _TOKEN.finditer(template):
        if m.start() > pos:
            parts.append(("lit", template[pos:m.start()]))
        body = m.group(1).strip()
        if body.startswith("range "):
            parts.append(("range", body[6:]))
        elif body == "end":
            parts.append(("end", ""))
        elif body[:1] in "'\"" and body[-1:] == body[:1]:
            parts.append(("lit", body[1:-1].encode().decode("unicode_escape")))
        else:
            parts.append(("expr", body))
        pos = m.end()
    if pos < len(template):
        parts.append(("lit", template[pos:]))
    out, _ = _run(parts, 0, [doc])
    return out


def _run(parts: list[tuple[str, str]], i: int, ctx: list[Any]) -> tuple[str, int]:
    out: list[str] = []
    while i < len(parts):
        kind, text = parts[i]
        if kind == "lit":
            out.append(text)
        elif kind == "expr":
            out.append(" ".join(_text(v) for v in _select(ctx, text)))
        elif kind == "range":
            items = _select(ctx, text)
            end = i + 1
            body_out = []
            for item in items:
                s, end = _run(parts, i + 1, [item])
                body_out.append(s)
            if not items:
                _, end = _run(parts, i + 1, [])
            out.append("".join(body_out))
            i = end
        elif kind == "end":
            return "".join(out), i
        i += 1
    return "".join(out), i
