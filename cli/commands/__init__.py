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
    ("apply", "apply", "Apply a configuration to resources by file or stdin"),
    ("replace", "apply", "Replace resources by file or stdin"),
    ("create", "create", "Create a resource from a file or from stdin, or with a generator "
     "(namespace, configmap, secret, deployment)"),
    ("run", "create", "Run a particular image in a pod"),
    ("expose", "expose", "Take a deployment, replica set, pod or service and expose it as a "
     "new Service"),
    ("delete", "delete", "Delete resources by file names, stdin, resources and names, or "
     "selector"),
    ("label", "label", "Update the labels on a resource"),
    ("annotate", "label", "Update the annotations on a resource"),
    ("scale", "scale", "Set a new size for a deployment, replica set or job"),
    ("rollout", "rollout", "Manage the rollout of a resource"),
    ("logs", "logs", "Print the logs of a container in a pod"),
    ("exec", "exec", "Execute a command in a container"),
    ("api-resources", "info", "Print the supported API resources on the server"),
    ("version", "info", "Print the client and server version information"),
    ("cluster-info", "info", "Display the API address and component health"),
    ("config", "config", "Modify kubeconfig files"),
    ("up", "cluster", "Start a jetkube cluster on this machine (NATS, API server, ...)"),
    ("down", "cluster", "Stop the cluster kctl up started (its data stays)"),
    ("node-credentials", "cluster", "Admit one more node agent to the bus: its NATS seed "
     "file, and how to start it (here or on another machine)"),
    ("store", "store", "Operate on the NATS KV store"),
    ("trace", "trace", "Show the trace that produced an object as a waterfall"),
)
"""(command, module under ``jetkube.cli.commands``, help), in ``kctl --help`` order."""
