"""``kctl edit (TYPE NAME | TYPE/NAME)``: the object in an editor, saved back to the server.

kubectl's edit loop: the object (several: a ``v1 List``) is written as YAML (``-o json``:
JSON) under kubectl's comment header to a ``kubectl-edit-*`` temp file and
``$KUBE_EDITOR``, else ``$EDITOR``, else ``vi`` is run on it (through ``sh -c`` when the
editor has arguments).  Comment lines are dropped from what comes back; an empty file is ``Edit
cancelled, saved file was empty.``, an unchanged one ``Edit cancelled, no changes
made.``.  Otherwise each changed object is sent as a JSON merge patch from what was
fetched to what was saved, carrying the fetched resourceVersion so a concurrent change
is a conflict, not lost: ``<kind>/<name> edited``.  A YAML error or a server error
reopens the file with the error as comments; saving the same rejected text again stops
(``Edit cancelled, no valid changes were saved.``, a copy kept in the temp dir), exit 1.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import tempfile
from typing import TYPE_CHECKING, Any

from ..console import echo, echo_err
from ..context import Ctx, targets
from ..errors import CliError

if TYPE_CHECKING:
    from jetkube.schemas.objects import Obj

    from ..discovery import ResourceInfo

HEADER = ("# Please edit the object below. Lines beginning with a '#' will be ignored,\n"
          "# and an empty file will abort the edit. If an error occurs while saving this "
          "file will be\n# reopened with the relevant failures.\n#\n")


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("edit", help="Edit a resource on the server")
    p.add_argument("args", nargs="*", metavar="(TYPE NAME | TYPE/NAME)")
    p.add_argument("-o", "--output", choices=["yaml", "json"], default="yaml",
                   help="the format to edit in")
    p.set_defaults(func=run)


def editor_command(path: str) -> list[str]:
    editor = os.environ.get("KUBE_EDITOR") or os.environ.get("EDITOR") or "vi"
    if any(c.isspace() for c in editor.strip()):
        return ["sh", "-c", f"{editor} {shlex.quote(path)}"]
    return [editor, path]


def strip_comments(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True)
                   if not line.lstrip().startswith("#"))


def _comment(lines: list[str]) -> str:
    return "".join(f"# {line}\n" if line else "#\n" for line in lines)


def invalid_lines(e: Any, ref: str) -> list[str]:
    """A server error as kubectl's edit comments it (one line per field cause)."""
    causes = (e.details or {}).get("causes") or []
    if e.reason != "Invalid" or not causes:
        return [e.message, ""]
    return [f"{ref} was not valid:",
            *(f"* {c.get('field') or '<nil>'}: {c.get('message', '')}" for c in causes), ""]


def run(ctx: Ctx) -> int:
    from ..output import as_list, to_json, to_yaml

    found: list[tuple[ResourceInfo, Obj]] = []
    for info, names in targets(ctx, ctx.args.args, verb="edit", allow_no_names=False):
        ns = ctx.object_namespace(info)
        for name in names:
            obj = ctx.client.get(info.path(ns, name))
            found.append((info, {"apiVersion": info.api_version, "kind": info.kind, **obj}))
    originals = [o for _, o in found]
    doc: Any = originals[0] if len(originals) == 1 else as_list(originals)
    fmt = ctx.args.output
    body = original = to_json(doc) + "\n" if fmt == "json" else to_yaml(doc)
    fd, path = tempfile.mkstemp(prefix="kubectl-edit-", suffix=f".{fmt}")
    os.close(fd)
    errors: list[str] = []
    last_failed: str | None = None
    try:
        while True:
            with open(path, "w") as f:
                f.write(HEADER + _comment(errors) + body)
            if subprocess.call(editor_command(path)) != 0:
                raise CliError("there was a problem with the editor")
            with open(path) as f:
                saved = f.read()
            edited = strip_comments(saved)
            if last_failed is not None and edited == last_failed:
                echo_err(f'A copy of your changes has been stored to "{path}"')
                path = ""  # kept for the user
                raise CliError("Edit cancelled, no valid changes were saved.")
            if not edited.strip():
                echo_err("Edit cancelled, saved file was empty.")
                return 0
            if edited == original and not errors:
                echo_err("Edit cancelled, no changes made.")
                return 0
            errors, body = save(ctx, found, edited)
            if not errors:
                return 0
            last_failed = edited
    finally:
        if path:
            os.unlink(path)


def save(ctx: Ctx, found: list[tuple[ResourceInfo, Obj]], edited: str
         ) -> tuple[list[str], str]:
    """Send what changed; ([], _) when all went, else the error comments and the text
    to reopen."""
    import yaml

    from jetkube.services.machinery.apimachinery.apierrors import ApiError

    from ..client import MERGE_PATCH
    from ..merge import create_merge_patch

    try:
        doc = yaml.safe_load(edited)
    except yaml.YAMLError as e:
        return [f"The edited file had a syntax error: {e}".replace("\n", " "), ""], edited
    items = doc.get("items") if isinstance(doc, dict) and len(found) > 1 else [doc]
    if not isinstance(items, list) or len(items) != len(found) or \
            not all(isinstance(i, dict) for i in items):
        return ["The edited file must hold the objects it was opened with.", ""], edited
    changed = False
    for (info, original), new in zip(found, items, strict=True):
        md = original["metadata"]
        ref = f'{info.qualified} "{md["name"]}"'
        if (new.get("metadata") or {}).get("name") != md["name"] or new.get("kind") != info.kind:
            return [f"{ref} was not valid:",
                    "* metadata.name or kind: the name and kind of an object cannot be edited",
                    ""], edited
        patch = create_merge_patch(original, new)
        if not patch:
            continue
        patch.setdefault("metadata", {})["resourceVersion"] = md.get("resourceVersion")
        try:
            ctx.client.patch(info.path(md.get("namespace") if info.namespaced else None,
                                       md["name"]), patch, MERGE_PATCH)
        except ApiError as e:
            echo_err(f"error: {ref} is invalid" if e.reason == "Invalid" else
                     f"error: {e.message}")
            return invalid_lines(e, ref), edited
        changed = True
        echo(f"{info.ref(md['name'])} edited")
    if not changed:
        echo_err("Edit cancelled, no changes made.")
    return [], edited
