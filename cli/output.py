"""Object output formats: ``-o yaml|json|name|jsonpath=...|custom-columns=...``, and
kubectl's ``List`` wrapper.

JSON is indented by four spaces and YAML keys are sorted, as kubectl prints
them.  ``jsonpath`` templates are kubectl's (cli/jsonpath.py: filters, slices, ranges);
``custom-columns=HEADER:PATH,...`` (or ``custom-columns-file=FILE``) prints one row per
object, ``<none>`` where a path selects nothing.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from .errors import CliError

if TYPE_CHECKING:  # yaml is imported for -o yaml only; Obj is a type (its package: pydantic)
    import yaml

    from jetkube.schemas.objects import Obj

FORMATS = ("wide", "yaml", "json", "name")


def check_format(fmt: str | None) -> None:
    if fmt is None or fmt in FORMATS or fmt.startswith(
            ("jsonpath=", "jsonpath-as-json=", "custom-columns=", "custom-columns-file=")):
        return
    raise CliError(f'unable to match a printer suitable for the output format "{fmt}", '
                   "allowed formats are: custom-columns,custom-columns-file,json,jsonpath,"
                   "jsonpath-as-json,name,wide,yaml")


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
        def ignore_aliases(self, data: Any) -> bool:
            return True  # a dict used twice is printed twice, never as &id001 / *id001

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
    if fmt.startswith("jsonpath-as-json="):
        from .jsonpath import evaluate_json

        return evaluate_json(fmt.partition("=")[2], doc)
    if fmt.startswith("jsonpath"):
        _, _, template = fmt.partition("=")
        return jsonpath(template, doc)
    raise CliError(f"unknown output format {fmt!r}")


def jsonpath(template: str, doc: Any) -> str:
    """``-o jsonpath=TEMPLATE`` (cli/jsonpath.py)."""
    from .jsonpath import evaluate

    return evaluate(template, doc)


def custom_columns_spec(fmt: str) -> list[tuple[str, str]]:
    """``custom-columns=NAME:.metadata.name,...`` (or ``-file=``) → [(header, path)]."""
    kind, _, spec = fmt.partition("=")
    if kind == "custom-columns-file":
        try:
            with open(spec) as f:
                lines = [ln.split() for ln in f.read().splitlines() if ln.strip()]
        except OSError as e:
            raise CliError(f"error reading {spec}: {e.strerror}") from None
        if len(lines) != 2 or len(lines[0]) != len(lines[1]):
            raise CliError(f"expected a header line and a path line of as many columns in {spec}")
        return list(zip(lines[0], lines[1], strict=True))
    if not spec:
        raise CliError("custom-columns format specified but no custom columns given")
    cols = []
    for part in spec.split(","):
        header, sep, path = part.partition(":")
        if not sep:
            raise CliError(f'unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>')
        cols.append((header, path))
    return cols


def custom_columns(fmt: str, objs: list[Obj], *, headers: bool = True) -> list[str]:
    """The lines of ``-o custom-columns``, laid out as kubectl's tabwriter lays them."""
    from .jsonpath import find, text
    from .tables import render

    cols = custom_columns_spec(fmt)
    rows = []
    for o in objs:
        row = []
        for _, path in cols:
            values = find(path, o)
            row.append(",".join(text(v) for v in values) if values else "<none>")
        rows.append(row)
    return render([h for h, _ in cols], rows, show_headers=headers)
