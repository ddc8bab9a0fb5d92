"""kctl subcommands, one module per command family, each imported only when it runs.

:data:`COMMANDS` names every top-level command in ``kctl --help`` order, the module that
registers it (its ``register(sub)``) and the one-line help ``kctl --help`` lists, so the
parser is built without importing any command module: ``kctl --help`` and ``kctl version``
start without the HTTP client, the schemas or rich (see ``cli/main.py``).  A module's
own ``help=`` for these commands must match this table;
tests/kctl/test_kctl_startup_is_lazy.py checks that, and that each module registers
exactly the commands listed for it.
"""

from __future__ import annotations

COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("get", "get", "Display one or many resources"),
    ("describe", "describe", "Show details of a resource or group of resources"),
    ("explain", "explain", "Get documentation for a resource"),
    ("apply", "apply", "Apply a configuration to resources by file or stdin"),
    ("replace", "apply", "Replace resources by file or stdin"),
    ("diff", "diff", "Diff the live version against a would-be applied version"),
    ("patch", "patch", "Update fields of a resource"),
    ("edit", "edit", "Edit a resource on the server"),
    ("create", "create", "Create a resource from a file or from stdin, or with a generator "
     "(namespace, configmap, secret, deployment)"),
    ("run", "create", "Run a particular image in a pod"),
    ("expose", "expose", "Take a deployment, replica set, pod or service and expose it as a "
     "new Service"),
    ("set", "set", "Set specific features on objects"),
    ("delete", "delete", "Delete resources by file names, stdin, resources and names, or "
     "selector"),
    ("label", "label", "Update the labels on a resource"),
    ("annotate", "label", "Update the annotations on a resource"),
    ("scale", "scale", "Set a new size for a deployment, replica set or job"),
    ("rollout", "rollout", "Manage the rollout of a resource"),
    ("wait", "wait", "Experimental: Wait for a specific condition on one or many resources"),
    ("logs", "logs", "Print the logs of a container in a pod"),
    ("exec", "exec", "Execute a command in a container"),
    ("attach", "streams", "Attach to a running container"),
    ("cp", "streams", "Copy files and directories to and from containers"),
    ("port-forward", "streams", "Forward one or more local ports to a pod"),
    ("top", "top", "Display resource (CPU/memory) usage"),
    ("cordon", "drain", "Mark node as unschedulable"),
    ("uncordon", "drain", "Mark node as schedulable"),
    ("drain", "drain", "Drain node in preparation for maintenance"),
    ("auth", "auth", "Inspect authorization"),
    ("api-resources", "info", "Print the supported API resources on the server"),
    ("api-versions", "explain", "Print the supported API versions on the server, in the form "
     "of \"group/version\""),
    ("version", "info", "Print the client and server version information"),
    ("cluster-info", "info", "Display the API address and component health"),
    ("config", "config", "Modify kubeconfig files"),
    ("completion", "completion", "Output shell completion code for the specified shell "
     "(bash or zsh)"),
    ("up", "cluster", "Start a jetkube cluster on this machine (NATS, API server, ...)"),
    ("down", "cluster", "Stop the cluster kctl up started (its data stays)"),
    ("node-credentials", "cluster", "Admit one more node agent to the bus: its NATS seed "
     "file, and how to start it (here or on another machine)"),
    ("store", "store", "Operate on the NATS KV store"),
    ("trace", "trace", "Show the trace that produced an object as a waterfall"),
)
"""(command, module under ``jetkube.cli.commands``, help), in ``kctl --help`` order."""
