"""``kctl explain TYPE[.FIELD...]`` and ``kctl api-versions``: the API as the server
describes it.

explain reads the server's OpenAPI v3 (``/openapi/v3`` names a document per group-version;
the type's schema is the one whose ``x-kubernetes-group-version-kind`` matches) and prints
it as kubectl's plaintext template does: GROUP/KIND/VERSION, the field's type
(``<[]Container>``, ``<map[string]string>``, ``<ObjectMeta>``), its enum, the description
wrapped at 80 columns, and each field below it with ``-required-`` and its enum;
``--recursive`` prints the field tree without descriptions.  api-versions lists every
group/version the discovery documents serve, sorted, as kubectl does.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from typing import Any

from ..console import echo
from ..context import Ctx
from ..errors import CliError

Schema = dict[str, Any]


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "explain", help="Get documentation for a resource")
    p.add_argument("args", nargs="*", metavar="TYPE[.FIELD...]")
    p.add_argument("--api-version", help="the group/version of the type (default: preferred)")
    p.add_argument("--recursive", action="store_true", help="print every field, nested")
    p.set_defaults(func=run)
    v = sub.add_parser("api-versions", help="Print the supported API versions on the server, "
                       "in the form of \"group/version\"")
    v.set_defaults(func=run_api_versions)


def run_api_versions(ctx: Ctx) -> int:
    versions = list(ctx.discovery.core_versions())
    for g in ctx.discovery.groups():
        versions.extend(str(v.get("groupVersion")) for v in g.get("versions") or [])
    for gv in sorted(set(versions)):
        echo(gv)
    return 0


class Document:
    """One group-version's OpenAPI document: schemas by name, references followed."""

    def __init__(self, doc: Schema) -> None:
        self.schemas: dict[str, Schema] = (doc.get("components") or {}).get("schemas") or {}

    def resolve(self, s: Schema) -> Schema:
        """``s`` with its ``$ref`` (or a single ``allOf`` reference) followed."""
        for _ in range(20):
            ref = s.get("$ref")
            if ref is None and len(s.get("allOf") or []) == 1:
                ref = s["allOf"][0].get("$ref")
            if not ref:
                return s
            s = self.schemas.get(str(ref).rsplit("/", 1)[-1], {})
        return s

    def for_kind(self, group: str, version: str, kind: str) -> Schema | None:
        for s in self.schemas.values():
            for gvk in s.get("x-kubernetes-group-version-kind") or []:
                if (gvk.get("group") or "", gvk.get("version"), gvk.get("kind")) == \
                        (group, version, kind):
                    return s
        return None


def type_name(s: Schema, doc: Document) -> str:
    """The type as kubectl's explain names it (a reference to a primitive: the primitive)."""
    ref = s.get("$ref") or (s["allOf"][0].get("$ref") if len(s.get("allOf") or []) == 1
                            else None)
    if ref:
        primitive = doc.resolve(s).get("type")
        if primitive in ("string", "integer", "number", "boolean"):
            return str(primitive)
        return str(ref).rsplit(".", 1)[-1]
    if s.get("x-kubernetes-int-or-string"):
        return "IntOrString"
    typ = s.get("type")
    if typ == "array":
        return "[]" + type_name(s.get("items") or {}, doc)
    if typ == "object" or typ is None:
        extra = s.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            return "map[string]" + type_name(extra, doc)
        return "Object"
    return str(typ)


def wrap(text: str, indent: int) -> list[str]:
    """A description as lines of at most 80 columns, indented."""
    out: list[str] = []
    for para in (text or "").splitlines() or [""]:
        out.extend(" " * indent + line for line in textwrap.wrap(
            para, 80 - indent, break_long_words=False, break_on_hyphens=False) or [""])
    return out


def _enum(value: Any) -> str:
    return '""' if value == "" else str(value)


def _element(doc: Document, s: Schema) -> Schema:
    """The schema a path continues into: arrays and maps step into their elements."""
    s = doc.resolve(s)
    while s.get("type") == "array" or (not s.get("properties") and
                                        isinstance(s.get("additionalProperties"), dict)):
        s = doc.resolve((s.get("items") or {}) if s.get("type") == "array"
                        else s["additionalProperties"])
    return s


def field_lines(doc: Document, s: Schema, *, recursive: bool, indent: int = 2,
                seen: tuple[str, ...] = ()) -> list[str]:
    body = _element(doc, s)
    required = set(body.get("required") or [])
    lines: list[str] = []
    for name in sorted(body.get("properties") or {}):
        prop = body["properties"][name]
        typ = type_name(prop, doc)
        req = " -required-" if name in required else ""
        lines.append(f"{' ' * indent}{name}\t<{typ}>{req}")
        enum = prop.get("enum") or doc.resolve(prop).get("enum")
        if enum:
            shown = [_enum(e) for e in enum[:4]] + (["...."] if len(enum) > 4 else [])
            lines.append(f"{' ' * indent}enum: {', '.join(shown)}")
        if recursive:
            if typ not in seen:
                lines.extend(field_lines(doc, prop, recursive=True, indent=indent + 2,
                                         seen=(*seen, typ)))
            continue
        lines.extend(wrap(prop.get("description") or "<no description>", indent + 2))
        lines.append("")
    return lines


def explain(doc: Document, schema: Schema, group: str, version: str, kind: str,
            fields: list[str], *, recursive: bool) -> list[str]:
    lines = ([f"GROUP:      {group}"] if group else []) + [
        f"KIND:       {kind}", f"VERSION:    {version}", ""]
    current, described = schema, schema
    for name in fields:
        props = _element(doc, current).get("properties") or {}
        if name not in props:
            raise CliError(f'field "{name}" does not exist')
        current = described = props[name]
    if fields:
        lines.append(f"FIELD: {fields[-1]} <{type_name(current, doc)}>")
        enum = current.get("enum") or doc.resolve(current).get("enum")
        if enum:
            lines += ["ENUM:", *(f"    {_enum(e)}" for e in enum)]
        else:
            lines.append("")
        lines.append("")
    description = described.get("description") or doc.resolve(described).get("description")
    lines += ["DESCRIPTION:", *wrap(description or "<empty>", 4)]
    if description:
        lines.append("    ")
    if _element(doc, current).get("properties"):
        lines.append("FIELDS:")
        lines += field_lines(doc, current, recursive=recursive)
    return lines


def run(ctx: Ctx) -> int:
    a = ctx.args
    if len(a.args) != 1:
        raise CliError("You must specify the type of resource to explain. Use \"kctl "
                       "api-resources\" for a complete list of supported resources.")
    resource, *fields = a.args[0].split(".")
    info = ctx.discovery.resolve(resource)
    group, version = info.group, info.version
    if a.api_version:
        group, _, version = a.api_version.rpartition("/")
    key = f"apis/{group}/{version}" if group else f"api/{version}"
    index = ctx.client.get("/openapi/v3").get("paths") or {}
    if key not in index:
        raise CliError(f"couldn't find resource for \"{group}/{version}, Kind={info.kind}\"")
    url = str(index[key].get("serverRelativeURL") or f"/openapi/v3/{key}")
    doc = Document(ctx.client.get(url.split("?")[0]))
    schema = doc.for_kind(group, version, info.kind)
    if schema is None:
        raise CliError(f'couldn\'t find resource for "{info.api_version}, Kind={info.kind}"')
    lines = explain(doc, schema, group, version, info.kind, fields, recursive=a.recursive)
    sys.stdout.write("\n".join(lines) + "\n\n")  # tabs kept (kubectl's), so not via echo
    sys.stdout.flush()
    return 0
