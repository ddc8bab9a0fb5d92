"""``kctl``: the entry point; argument parsing, dispatch and error handling.

Global flags (``--kubeconfig``, ``--context``, ``-n``, ``-s``, ``--token``)
are accepted before or after the command, as kubectl accepts them.  Every
user error ends here: a server ``Status`` prints as ``Error from server
(Reason): message``, a client-side one as ``error: ...``; both exit 1 and
never show a traceback (set ``KCTL_DEBUG=1`` to see one for a bug).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .commands import COMMANDS
from .console import echo_err
from .context import Ctx
from .errors import CliError, error_line

if TYPE_CHECKING:
    import httpx

    from ._http import Transport


def _globals(p: argparse.ArgumentParser, default: Any) -> None:
    p.add_argument("--kubeconfig", default=default, help="path to the kubeconfig file")
    p.add_argument("--context", default=default, help="the kubeconfig context to use")
    p.add_argument("-n", "--namespace", default=default, help="namespace scope of the request")
    p.add_argument("-s", "--server", default=default, help="the API server address")
    p.add_argument("--token", default=default, help="bearer token for the API server")
    p.add_argument("--request-timeout", default=default, type=float,
                   help="seconds to wait for a single request")


def _common() -> argparse.ArgumentParser:
    """The global flags as a parent parser.  A new one per subcommand: a parser shares its
    parents' actions, and a subcommand's own flag of the same name (``config set-context
    --namespace``) takes that option string away from the action it conflicts with."""
    common = argparse.ArgumentParser(add_help=False)
    _globals(common, argparse.SUPPRESS)
    return common


class _SubParsers(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Gives every subcommand the global flags, so they work after the command too; and
    registers commands lazily: :meth:`add_lazy` lists a command (for ``--help`` and the
    choices) under a placeholder, and the module that defines it is imported, and its
    ``register`` run, only when the command is chosen."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy: dict[str, str] = {}  # placeholder command -> module under .commands

    def add_lazy(self, name: str, module: str, help: str) -> None:
        super().add_parser(name, help=help, add_help=False)
        self._lazy[name] = module

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        kwargs.setdefault("parents", [_common()])
        kwargs.setdefault("conflict_handler", "resolve")
        if self._lazy.pop(name, None) is None:
            parser: argparse.ArgumentParser = super().add_parser(name, **kwargs)
            return parser
        # the real parser replaces its placeholder, in its place; listed with the table's help
        kwargs.pop("help", None)
        parsers = self._name_parser_map  # argparse's choices: the same dict, kept in order
        order = list(parsers)
        del parsers[name]
        parser = super().add_parser(name, **kwargs)
        placed = {k: parsers[k] for k in [*order, *(k for k in parsers if k not in order)]}
        parsers.clear()
        parsers.update(placed)
        return parser

    def load(self, name: str) -> None:
        """Import the module of a listed command and register its commands."""
        module = self._lazy.get(name)
        if module is not None:
            importlib.import_module(f"{__package__}.commands.{module}").register(self)
            if name in self._lazy:
                raise RuntimeError(f"jetkube.cli.commands.{module} does not register {name!r}")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        self.load(values[0])
        super().__call__(parser, namespace, values, option_string)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _SubParsers)


def build_parser() -> argparse.ArgumentParser:
    """kctl's parser; each command's own arguments are added when it is chosen."""
    p = _Parser(prog="kctl", description="kctl controls a jetkube cluster (a Kubernetes "
                "control plane on NATS JetStream). Start one with: kctl up")
    _globals(p, None)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    assert isinstance(sub, _SubParsers)
    for name, module, help_text in COMMANDS:
        sub.add_lazy(name, module, help_text)
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
        chosen(parser, args).error(f"unrecognized arguments: {' '.join(bad or extras or tail)}")
    if isinstance(positional, list):
        args.args = [*positional, *extras, *tail]
    return args


def chosen(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The (sub)command's own parser that ``args`` came from (``kctl set image``'s for
    ``kctl set image --bad``), so an error prints that command's usage, not kctl's."""
    while True:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        name = getattr(args, subs[0].dest, None) if subs and subs[0].dest else None
        if not isinstance(name, str) or name not in subs[0].choices:
            return parser
        parser = subs[0].choices[name]


def run(argv: Sequence[str] | None = None, *,
        transport: Transport | httpx.BaseTransport | None = None) -> int:
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
    except CliError as e:
        echo_err(error_line(e))
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:
        return _failed(e)
    finally:
        ctx.close()


def _failed(e: Exception) -> int:
    """A server ``Status`` as ``Error from server``; anything else is a bug: say what,
    without a traceback unless asked."""
    # imported here: the API errors' package brings the schemas, which not every command needs
    from jetkube.services.machinery.apimachinery.apierrors import ApiError

    if isinstance(e, ApiError):
        echo_err(error_line(e))
        return 1
    if os.environ.get("KCTL_DEBUG"):
        import traceback

        traceback.print_exc()
    echo_err(f"error: {e.__class__.__name__}: {e} (set KCTL_DEBUG=1 for a traceback)")
    return 1


def main() -> int:
    # httpx (cluster-info's and up's probes use it; API requests do not: cli/_http.py)
    # imports its own command line (click, rich, pygments: about half of httpx's import
    # time) when they are installed; kctl never uses it, so it is not imported
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    from .commandspan import traced  # OpenTelemetry is imported only with an OTLP endpoint

    return traced(run, sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
