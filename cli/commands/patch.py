"""``kctl patch (TYPE NAME | TYPE/NAME) -p PATCH [--type strategic|merge|json]``.

The patch (``-p``, or ``--patch-file``) is JSON or YAML, sent as kubectl sends it:
``strategic`` (the default) as ``application/strategic-merge-patch+json``, ``merge`` as a
JSON merge patch (RFC 7386), ``json`` as a JSON patch (RFC 6902, a list of operations).
The server applies it; kctl prints ``<kind>/<name> patched``, or ``patched (no change)``
when the object came back as it was.  ``--subresource status|scale`` patches the
subresource, ``--dry-run=server`` asks the server to change nothing.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..console import echo
from ..context import Ctx, targets
from ..errors import CliError
from ..output import format_objects

TYPES = {"strategic": "application/strategic-merge-patch+json",
         "merge": "application/merge-patch+json", "json": "application/json-patch+json"}


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "patch", help="Update fields of a resource")
    p.add_argument("args", nargs="*", metavar="(TYPE NAME | TYPE/NAME)")
    p.add_argument("-p", "--patch", help="the patch (JSON or YAML)")
    p.add_argument("--patch-file", help="a file holding the patch")
    p.add_argument("--type", default="strategic", help="strategic (default), merge or json")
    p.add_argument("--subresource", choices=["status", "scale"],
                   help="patch this subresource instead of the object")
    p.add_argument("--dry-run", choices=["none", "client", "server"], default="none")
    p.add_argument("-o", "--output", choices=["yaml", "json", "name"])
    p.set_defaults(func=run)


def read_patch(a: argparse.Namespace) -> Any:
    """The patch document of ``-p`` / ``--patch-file`` (YAML is read as JSON is)."""
    import yaml

    if a.patch is not None and a.patch_file:
        raise CliError("--patch and --patch-file are mutually exclusive")
    text = a.patch
    if a.patch_file:
        try:
            with open(a.patch_file) as f:
                text = f.read()
        except OSError as e:
            raise CliError(f"unable to read patch file: {e.strerror}") from None
    if not text:
        raise CliError("must specify --patch or --patch-file containing the contents of the "
                       "patch")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise CliError(f"unable to parse {text!r}: yaml: {getattr(e, 'problem', e)}") from None


def run(ctx: Ctx) -> int:
    a = ctx.args
    if a.type not in TYPES:
        raise CliError(f'--type must be one of [json merge strategic], not "{a.type}"')
    patch = read_patch(a)  # its shape is the server's to judge, as with kubectl
    for info, names in targets(ctx, a.args, verb="patch", allow_no_names=False):
        ns = ctx.object_namespace(info)
        for name in names:
            path = info.path(ns, name) + (f"/{a.subresource}" if a.subresource else "")
            before = ctx.client.get(path)
            if a.dry_run == "client":
                after = before  # kubectl's client dry run prints the object as it is
            else:
                params = {"dryRun": "All"} if a.dry_run == "server" else None
                after = ctx.client.json("PATCH", path, body=patch, params=params,
                                        content_type=TYPES[a.type])
            if a.output in ("yaml", "json"):
                echo(format_objects([after], a.output, single=True))
            elif a.output == "name":
                echo(info.ref(name))
            else:
                done = "patched" if after != before else "patched (no change)"
                echo(f"{info.ref(name)} {done}")
    return 0
