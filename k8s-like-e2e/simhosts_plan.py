"""The pure part of simhosts.py: a scope's names, the address plan, dockerd's command line,
the state file, and finding a crashed run's leftovers by name (no system calls here).

Names for scope S and host I: namespaces ``jkp-S`` (the physical network) and ``jkhI-S``;
the root namespace's veth ``jkr-S``; cgroup ``jetkube-sim-S-hI``; files under ``D/hI``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_SCOPE", "IMAGE", "STATE_FILE", "SUPERNET", "Host", "SimHostsError", "check_scope",
           "default_dir", "dockerd_argv", "leftover_hosts", "parse_state", "pick_subnet", "plan",
           "state_json", "state_owner"]

SUPERNET = ipaddress.IPv4Network("172.31.240.0/20")
DEFAULT_SCOPE = "sim"
STATE_FILE = "simhosts.json"
IMAGE = "jetkube/busybox:test"
_SCOPE_RE = re.compile(r"^[a-z0-9]{1,10}$")  # jkr-<scope> must fit IFNAMSIZ (15)
_LONGEST_SOCKET = "exec/containerd/containerd.sock.ttrpc"
_SUN_PATH_MAX = 107


class SimHostsError(RuntimeError):
    """A sim host could not be made (the message says why, with the dockerd log's tail)."""


@dataclass(frozen=True)
class Host:
    """One simulated host: its namespace, physical address and dockerd's files."""

    index: int
    scope: str
    address: str
    dir: Path

    @property
    def netns(self) -> str:
        return f"jkh{self.index}-{self.scope}"

    @property
    def socket(self) -> Path:
        return self.dir / "docker.sock"

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def pidfile(self) -> Path:
        return self.dir / "docker.pid"

    @property
    def log(self) -> Path:
        return self.dir / "dockerd.log"

    @property
    def cgroup_parent(self) -> str:
        return f"jetkube-sim-{self.scope}-h{self.index}"

    def client(self, timeout: int = 30) -> Any:
        """A docker client of this host's dockerd."""
        import docker

        return docker.DockerClient(base_url=self.docker_host, timeout=timeout)


def default_dir(scope: str) -> Path:
    return Path(f"/tmp/jetkube-simhosts-{scope}")


def check_scope(scope: str) -> str:
    if not _SCOPE_RE.match(scope):
        raise ValueError(f"scope {scope!r}: 1-10 characters of [a-z0-9] (it names links)")
    return scope


def pick_subnet(scope: str, used: Sequence[str]) -> ipaddress.IPv4Network:
    """The scope's /24 in SUPERNET: from a hash of the scope on, the first /24 none of
    the ``used`` addresses (CIDR or bare, e.g. the root namespace's) falls in."""
    subnets = list(SUPERNET.subnets(new_prefix=24))
    start = int(hashlib.sha256(scope.encode()).hexdigest(), 16) % len(subnets)
    taken = [ipaddress.ip_interface(u).ip for u in used]
    for k in range(len(subnets)):
        net = subnets[(start + k) % len(subnets)]
        if not any(ip in net for ip in taken):
            return net
    raise SimHostsError(f"every /24 of {SUPERNET} is in use in the root namespace")


def plan(n: int, scope: str, dir: Path, subnet: ipaddress.IPv4Network) -> list[Host]:
    if not 1 <= n <= 200:
        raise ValueError(f"{n} hosts: between 1 and 200")
    longest = dir / f"h{n}" / _LONGEST_SOCKET
    if len(str(longest)) > _SUN_PATH_MAX:
        raise ValueError(f"{dir} is too long a directory: the managed containerd's socket "
                         f"{longest} would exceed {_SUN_PATH_MAX} characters (a unix socket's "
                         "limit); use a shorter one (e.g. /tmp/jks-<scope>)")
    return [Host(i, scope, str(subnet.network_address + 10 + i), dir / f"h{i}")
            for i in range(1, n + 1)]


def dockerd_argv(host: Host) -> list[str]:
    """The command starting ``host``'s dockerd in its namespace (private mount and UTS
    namespaces, the hostname being the host's namespace name; the host's network
    namespace; every path under the host's dir)."""
    d = host.dir
    return ["unshare", "--mount", "--uts", "--propagation", "slave",
            "sh", "-c", 'hostname "$0" && exec "$@"', host.netns,
            "nsenter", f"--net=/run/netns/{host.netns}",
            "dockerd", "--config-file", str(d / "daemon.json"),
            "--data-root", str(d / "data"), "--exec-root", str(d / "exec"),
            "--pidfile", str(host.pidfile), "-H", host.docker_host,
            "--bip", f"10.255.{host.index}.1/24",
            "--default-address-pool", "base=10.254.0.0/16,size=24",
            # cgroupfs: a path parent on cgroup v1 and v2 (the systemd driver wants a slice)
            "--exec-opt", "native.cgroupdriver=cgroupfs", "--cgroup-parent", f"/{host.cgroup_parent}",
            "--userland-proxy=false", "--shutdown-timeout", "2"]


def state_json(scope: str, subnet: ipaddress.IPv4Network, hosts: Sequence[Host],
               owner: int | None = None) -> str:
    """The state file: what ``up`` makes, and the PID of the process that owns the hosts
    (a test's; None for ``scripts/hosts``, whose hosts outlive it)."""
    return json.dumps({"scope": scope, "subnet": str(subnet), "owner": owner, "hosts": [
        {"index": h.index, "netns": h.netns, "address": h.address,
         "docker_host": h.docker_host} for h in hosts]}, indent=1)


def state_owner(text: str) -> int | None:
    owner = json.loads(text).get("owner")
    return int(owner) if owner is not None else None


def parse_state(text: str, dir: Path) -> tuple[str, ipaddress.IPv4Network, list[Host]]:
    """(scope, subnet, hosts) from a state file's text."""
    data = json.loads(text)
    scope = check_scope(str(data["scope"]))
    subnet = ipaddress.IPv4Network(str(data["subnet"]))
    return scope, subnet, [Host(int(h["index"]), scope, str(h["address"]), dir / f"h{int(h['index'])}")
                           for h in data["hosts"]]


def leftover_hosts(scope: str, netns_list: str, cgroups: Sequence[str] = ()) -> list[int]:
    """Host indexes of ``scope`` still present: from ``ip netns list`` output and the
    names of cgroup directories."""
    pat = re.compile(rf"^jkh(\d+)-{re.escape(scope)}$")
    cg = re.compile(rf"^jetkube-sim-{re.escape(scope)}-h(\d+)$")
    found = {int(m.group(1)) for line in netns_list.splitlines() if line.split()
             if (m := pat.match(line.split()[0]))}
    found |= {int(m.group(1)) for name in cgroups if (m := cg.match(name))}
    return sorted(found)
