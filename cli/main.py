"""``kctl``: the entry point; argument parsing, dispatch and error handling.

Global flags (``--kubeconfig``, ``--context``, ``-n``, ``-s``, ``--token``)
are accepted before or after the command, as kubectl accepts them.  Every
user error ends here: a server ``Status`` prints as ``Error from server
(Reason): message``, a client-side one as ``error: ...``; both exit 1 and
never show a traceback (set ``KCTL_DEBUG=1`` to see one for a bug).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import httpx

from jetkube.services.machinery.apimachinery.apierrors import ApiError

from .commands import (
    apply,
    cluster,
    config,
    create,
    delete,
    describe,
    exec,
    expose,
    get,
    info,
    label,
    logs,
    rollout,
    scale,
    store,
    trace,
)
from .console import echo_err
from .context import Ctx
from .errors import CliError, error_line


def _globals(p: argparse.ArgumentParser, default: Any) -> None:
    p.add_argument("--kubeconfig", default=default, help="path to the kubeconfig file")
    p.add_argument("--context", default=default, help="the kubeconfig context to use")
    p.add_argument("-n", "--namespace", default=default, help="namespace scope of the request")
    p.add_argument("-s", "--server", default=default, help="the API server address")
    p.add_argument("--token", default=default, help="bearer token for the API server")
    p.add_argument("--request-timeout", default=default, type=float,
                   help="seconds to wait for a single request")


_COMMON = argparse.ArgumentParser(add_help=False)
_globals(_COMMON, argparse.SUPPRESS)


class _SubParsers(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Gives every subcommand the global flags, so they work after the command too."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        kwargs.setdefault("parents", [_COMMON])
        kwargs.setdefault("conflict_handler", "resolve")
        parser: argparse.ArgumentParser = super().add_parser(name, **kwargs)
        return parser


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _SubParsers)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="kctl", description="kctl controls a jetkube cluster (a Kubernetes "
                "control plane on NATS JetStream). Start one with: kctl up")
    _globals(p, None)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for mod in (get, describe, apply, create, expose, delete, label, scale, rollout, logs, exec,
                info, config, cluster, store, trace):
        mod.register(sub)
    return p


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Parse like kubectl: positionals may follow flags (``get pods -n x web``) and
    everything after ``--`` is positional (``run x --image i -- sh -c 'cmd'``)."""
    head, tail = argv, []
    if "--" in argv:
        i = argv.index("--")
        head, tail = argv[:i], argv[i + 1:]
    args, extras = parser.parse_known_args(head)
    bad = [e for e in extras if e.startswith("-") and e != "-"]
    positional = getattr(args, "args", None)
    if bad or ((extras or tail) and not isinstance(positional, list)):
        parser.error(f"unrecognized arguments: {' '.join(bad or extras or tail)}")
    if isinstance(positional, list):
        args.args = [*positional, *extras, *tail]
    return args


def run(argv: Sequence[str] | None = None, *, transport: httpx.BaseTransport | None = None) -> int:
    """Run kctl with ``argv``; returns the exit code.  ``transport`` is for tests."""
    parser = build_parser()
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list:
        parser.print_help()
        return 0
    try:
        args = _parse(parser, args_list)
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else 1
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 1
    ctx = Ctx(args, transport=transport)
    try:
        return int(args.func(ctx))
    except ApiError as e:
        echo_err(error_line(e))
        return 1
    except CliError as e:
        echo_err(error_line(e))
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # a bug: say what, without a traceback unless asked
        if os.environ.get("KCTL_DEBUG"):
            traceback.print_exc()
        echo_err(f"error: {e.__class__.__name__}: {e} (set KCTL_DEBUG=1 for a traceback)")
        return 1
    finally:
        ctx.close()


def main() -> int:
    return run()


if __name__ == "__main__":
    sys.exit(main())
