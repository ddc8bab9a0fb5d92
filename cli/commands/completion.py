"""``kctl completion bash|zsh``: a shell completion script, as ``kubectl completion``.

The script is generated from kctl's own parser (every command, its subcommands and its
flags, so it never drifts from the code) and asks the cluster only for what cannot be
known in advance: resource types (``kctl api-resources -o name``) and object names
(``kctl get TYPE -o name``), each when completing that word.  zsh uses the bash function
through ``bashcompinit``.  Install: ``source <(kctl completion bash)``, or write it to a
file your shell loads.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..context import Ctx

RESOURCE_VERBS = ("get", "describe", "delete", "edit", "label", "annotate", "patch",
                  "explain", "wait", "scale", "expose")
NODE_VERBS = ("cordon", "uncordon", "drain")
POD_VERBS = ("logs", "exec")


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "completion", help="Output shell completion code for the specified shell (bash or zsh)")
    p.add_argument("shell", choices=["bash", "zsh"])
    p.set_defaults(func=run)


def _flags(parser: argparse.ArgumentParser) -> list[str]:
    return sorted({o for a in parser._actions for o in a.option_strings if o.startswith("--")})


def _children(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            return dict(a.choices)
    return {}


def script() -> str:
    """The bash completion script for every command kctl has."""
    from ..commands import COMMANDS
    from ..main import build_parser

    top = build_parser()
    from ..main import _SubParsers

    subs = next(a for a in top._actions if isinstance(a, _SubParsers))
    cases: list[str] = []
    for name, _, _ in COMMANDS:
        subs.load(name)
        parser = subs.choices[name]
        children = _children(parser)
        words = " ".join([*children, *_flags(parser)])
        cases.append(f'        {name}) opts="{words}" ;;')
        for child, cp in children.items():
            cases.append(f'        "{name} {child}") opts="{" ".join(_flags(cp))}" ;;')
    commands = " ".join(name for name, _, _ in COMMANDS)
    globals_ = " ".join(_flags(top))
    return _TEMPLATE.format(commands=commands, globals=globals_, cases="\n".join(cases),
                            resource_verbs="|".join(RESOURCE_VERBS),
                            node_verbs="|".join(NODE_VERBS), pod_verbs="|".join(POD_VERBS))


_TEMPLATE = r"""# kctl completion for bash (and zsh, through bashcompinit): source <(kctl completion bash)
__kctl_names() {{
    kctl get "$1" -o name 2>/dev/null | sed 's|^[^/]*/||'
}}

_kctl() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" cmd="" sub="" args=() i w
    for ((i = 1; i < COMP_CWORD; i++)); do
        w="${{COMP_WORDS[i]}}"
        case "$w" in
            -n|--namespace|--context|--kubeconfig|-s|--server|--token|-o|--output|-l|--selector)
                ((i++)); continue ;;
            -*) continue ;;
        esac
        if [[ -z "$cmd" ]]; then cmd="$w"; elif [[ -z "$sub" ]]; then sub="$w"; args+=("$w");
        else args+=("$w"); fi
    done
    if [[ -z "$cmd" ]]; then
        COMPREPLY=($(compgen -W "{commands} {globals}" -- "$cur"))
        return
    fi
    local opts=""
    case "$cmd $sub" in
{cases}
    esac
    if [[ -z "$opts" ]]; then
        case "$cmd" in
{cases}
        esac
    fi
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "${{opts:-{globals}}}" -- "$cur"))
        return
    fi
    case "$cmd" in
        {resource_verbs})
            if [[ ${{#args[@]}} -eq 0 ]]; then
                COMPREPLY=($(compgen -W "$(kctl api-resources -o name 2>/dev/null)" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "$(__kctl_names "${{args[0]}}")" -- "$cur"))
            fi ;;
        {node_verbs}) COMPREPLY=($(compgen -W "$(__kctl_names nodes)" -- "$cur")) ;;
        {pod_verbs}) COMPREPLY=($(compgen -W "$(__kctl_names pods)" -- "$cur")) ;;
        *) COMPREPLY=($(compgen -W "$opts" -X '-*' -- "$cur")) ;;
    esac
}}
complete -o default -F _kctl kctl
"""

_ZSH_HEAD = "#compdef kctl\nautoload -U +X bashcompinit && bashcompinit\n"


def run(ctx: Ctx) -> int:
    import sys

    text = script()
    sys.stdout.write(_ZSH_HEAD + text if ctx.args.shell == "zsh" else text)
    return 0
