"""Simulated hosts on this machine: network namespaces, each with a dockerd of its own.

Layout for ``up(n, scope=S, dir=D)`` (root needed; nothing leaves the machine)::

    root namespace                 jkp-S ("physical network")        jkhI-S (host I)
    jkr-S  172.31.X.1/24  <--veth-->  root0 --+
                                              br0 (bridge)
                                      hI -----+  <--veth-->  eth0  172.31.X.(10+I)/24
                                                             dockerd: docker0 10.255.I.1/24,
                                                             user networks from 10.254.0.0/16

* The sim network is one /24 in 172.31.240.0/20 (``SUPERNET``), chosen from a hash of
  the scope and moved on to the next /24 when the root namespace already has an address
  in it.  The root namespace gets ``.1`` (``SimHosts.gateway``), so a control plane
  there (NATS, the API server) is reached from the hosts at that address; host I has
  ``.(10+I)``.  Hosts have only the connected /24 route: no default route, no NAT out,
  so nothing they send can leave the machine through the root namespace.
* Each host has loopback up, ``net.ipv4.ip_forward=1`` and a dockerd of its own, run
  as ``unshare --mount --uts --propagation slave nsenter --net=/run/netns/jkhI-S
  dockerd`` with hostname ``jkhI-S`` (what its host-network containers see; ``ip netns
  exec`` is not used: it remounts /sys, which hides the cgroup mounts dockerd needs).
  The private mount namespace keeps its overlay and netns mounts out of the root
  namespace; they vanish with its processes.  Its files live under ``D/hI/``:
  ``data`` (--data-root, with the managed containerd's state), ``exec`` (--exec-root,
  the managed containerd's socket), ``docker.sock``, ``docker.pid``, ``dockerd.log``
  and ``daemon.json`` (an empty --config-file, so /etc/docker/daemon.json is never
  read).  Containers go into cgroup ``/jetkube-sim-S-hI`` (--cgroup-parent), apart
  from the main dockerd's ``/docker``; iptables rules are the namespace's own.
* ``jetkube/busybox:test`` is built into every host's dockerd from the local static
  busybox (no registry).
* ``D/simhosts.json`` records the plan before anything is made.  ``down`` (idempotent,
  and fine after a crash: it also looks for the scope's names) removes the containers,
  stops the dockerds (by the pidfile's PID, checked against its command line) and
  kills what is left in the host namespaces, removes the cgroups, unmounts anything
  left under D, deletes the namespaces and ``jkr-S``, and removes what it made in D.
  ``remove(host)`` takes one host away the way a machine dies (everything in it killed,
  its namespace deleted, the others untouched), for node-failure tests.

CLI: ``scripts/hosts up N [--dir D] [--scope S]`` and ``scripts/hosts down [--dir D]``.
Names, the address plan and the state file are in simhosts_plan.py (no system calls);
tests get hosts from simhosts_fixture.py.  D must be short (dockerd's managed containerd
puts its socket under it and a unix socket path has at most 107 characters).
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from simhosts_plan import (
    DEFAULT_SCOPE,
    IMAGE,
    STATE_FILE,
    SUPERNET,
    Host,
    SimHostsError,
    check_scope,
    default_dir,
    dockerd_argv,
    leftover_hosts,
    parse_state,
    pick_subnet,
    plan,
    state_json,
)

__all__ = ["DEFAULT_SCOPE", "IMAGE", "SUPERNET", "Host", "SimHosts", "SimHostsError", "down",
           "sim_hosts", "up"]

_CGROUP_ROOT = Path("/sys/fs/cgroup")


def _cgroup_dirs(name: str) -> list[Path]:
    """``name`` (a glob) at the top of every cgroup hierarchy: one per controller on
    cgroup v1, the unified one on v2."""
    return [*_CGROUP_ROOT.glob(name), *_CGROUP_ROOT.glob(f"*/{name}")]


def _sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if check and res.returncode != 0:
        raise SimHostsError(f"{' '.join(argv)}: {res.stderr.strip() or res.returncode}")
    return res


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def _wait_gone(pids: Sequence[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    left = [p for p in pids if _alive(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [p for p in left if _alive(p)]
    return left


def _cgroup_pids(h: Host) -> list[int]:
    """Processes in the host's cgroup tree (its containers', even in their own netns).
    The tree changes while it is read (the daemon removes containers' cgroups as they
    end): a directory gone meanwhile has no processes left to count."""
    pids: set[int] = set()
    for top in _cgroup_dirs(h.cgroup_parent):
        for where, _, files in os.walk(top):  # os.walk passes over vanished directories
            if "cgroup.procs" in files:
                with contextlib.suppress(OSError, ValueError):
                    pids |= {int(p) for p in Path(where, "cgroup.procs").read_text().split()}
    return sorted(pids)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as err:
        return f"(no log: {err})"


class SimHosts:
    """``n`` simulated hosts of ``scope`` under ``dir``; ``up()`` makes them, ``down()``
    removes them (and whatever an earlier run of the same scope/dir left)."""

    def __init__(self, n: int, scope: str = DEFAULT_SCOPE, dir: Path | str | None = None,
                 *, owner: int | None = None) -> None:
        self.n = n
        self.owner = owner
        self.scope = check_scope(scope)
        self.dir = Path(dir) if dir is not None else default_dir(scope)
        self.subnet: ipaddress.IPv4Network | None = None
        self.hosts: list[Host] = []
        self._procs: list[subprocess.Popen[bytes]] = []

    @property
    def phys_netns(self) -> str:
        return f"jkp-{self.scope}"

    @property
    def root_link(self) -> str:
        return f"jkr-{self.scope}"

    @property
    def gateway(self) -> str:
        """The root namespace's address on the sim network."""
        assert self.subnet is not None, "not up"
        return str(self.subnet.network_address + 1)

    def __enter__(self) -> SimHosts:
        return self.up()

    def __exit__(self, *exc: object) -> None:
        self.down()

    def up(self) -> SimHosts:
        if os.geteuid() != 0:
            raise SimHostsError("simulated hosts need root (network namespaces, dockerd)")
        self.down()  # leftovers of a crashed run of this scope/dir
        used = _sh("ip", "-4", "-o", "addr", "show").stdout.split()
        self.subnet = pick_subnet(self.scope, [w for w in used if re.match(r"^\d+\.\d+\.\d+\.\d+/", w)])
        self.hosts = plan(self.n, self.scope, self.dir, self.subnet)
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / STATE_FILE).write_text(state_json(self.scope, self.subnet, self.hosts, self.owner))
        try:
            self._network()
            for h in self.hosts:
                self._start_dockerd(h)
            for h in self.hosts:
                self._wait_dockerd(h)
            with ThreadPoolExecutor(max_workers=len(self.hosts)) as pool:
                list(pool.map(self._load_image, self.hosts))
        except BaseException:
            self.down()
            raise
        return self

    def _network(self) -> None:
        p, prefix = self.phys_netns, self.subnet.prefixlen if self.subnet else 24
        _sh("ip", "netns", "add", p)
        _sh("ip", "-n", p, "link", "set", "lo", "up")
        _sh("ip", "-n", p, "link", "add", "br0", "type", "bridge")
        _sh("ip", "-n", p, "link", "set", "br0", "up")
        _sh("ip", "link", "add", self.root_link, "type", "veth", "peer", "name", "root0", "netns", p)
        _sh("ip", "-n", p, "link", "set", "root0", "master", "br0", "up")
        _sh("ip", "addr", "add", f"{self.gateway}/{prefix}", "dev", self.root_link)
        _sh("ip", "link", "set", self.root_link, "up")
        for h in self.hosts:
            _sh("ip", "netns", "add", h.netns)
            _sh("ip", "-n", h.netns, "link", "set", "lo", "up")
            _sh("ip", "-n", p, "link", "add", f"h{h.index}", "type", "veth",
                "peer", "name", "eth0", "netns", h.netns)
            _sh("ip", "-n", p, "link", "set", f"h{h.index}", "master", "br0", "up")
            _sh("ip", "-n", h.netns, "addr", "add", f"{h.address}/{prefix}", "dev", "eth0")
            _sh("ip", "-n", h.netns, "link", "set", "eth0", "up")
            _sh("ip", "netns", "exec", h.netns, "sysctl", "-qw", "net.ipv4.ip_forward=1")

    def _start_dockerd(self, h: Host) -> None:
        (h.dir / "data").mkdir(parents=True, exist_ok=True)
        (h.dir / "daemon.json").write_text("{}\n")
        with open(h.log, "wb") as log:
            self._procs.append(subprocess.Popen(dockerd_argv(h), stdin=subprocess.DEVNULL,
                                                stdout=log, stderr=subprocess.STDOUT,
                                                start_new_session=True))

    def _wait_dockerd(self, h: Host, timeout: float = 30) -> None:
        proc = self._procs[h.index - 1]
        deadline = time.monotonic() + timeout
        err: Exception | None = None
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SimHostsError(f"dockerd of {h.netns} exited with {proc.returncode}; "
                                    f"the end of {h.log}:\n{_tail(h.log)}")
            try:
                h.client(timeout=5).version()
                return
            except Exception as e:  # not listening yet
                err = e
            time.sleep(0.1)
        raise SimHostsError(f"dockerd of {h.netns} did not answer on {h.socket} within "
                            f"{timeout:.0f} s ({err}); the end of {h.log}:\n{_tail(h.log)}")

    def _load_image(self, h: Host) -> None:
        from jetkube.services.kubelet.runtimes.docker_images import build_busybox_image

        build_busybox_image(h.client(), IMAGE)

    def down(self) -> None:
        """Remove everything of this scope/dir; idempotent.  Raises when something could
        not be removed (after trying everything else)."""
        state, scope, recorded = self.dir / STATE_FILE, self.scope, list(self.hosts)
        with contextlib.suppress(OSError, ValueError, KeyError):
            scope, _, recorded = parse_state(state.read_text(), self.dir)
        cgroups = [p.name for p in _cgroup_dirs(f"jetkube-sim-{scope}-h*")]
        netns = _sh("ip", "netns", "list", check=False).stdout
        indexes = set(leftover_hosts(scope, netns, cgroups)) | {h.index for h in recorded}
        indexes |= {int(m.group(1)) for p in self.dir.glob("h*/daemon.json")  # ours: --config-file
                    if (m := re.match(r"^h(\d+)$", p.parent.name))}
        hosts = [Host(i, scope, "", self.dir / f"h{i}") for i in sorted(indexes)]
        problems: list[str] = []
        for h in hosts:
            self._remove_containers(h)
        self._stop_dockerds(hosts, problems)
        for h in hosts:
            self._remove_cgroups(h, problems)
        self._unmount_under(self.dir, problems)
        names = {line.split()[0] for line in netns.splitlines() if line.split()}
        for ns in [h.netns for h in hosts] + [f"jkp-{scope}"]:
            if ns in names:
                res = _sh("ip", "netns", "del", ns, check=False)
                if res.returncode:
                    problems.append(f"ip netns del {ns}: {res.stderr.strip()}")
        if _sh("ip", "link", "show", f"jkr-{scope}", check=False).returncode == 0:
            _sh("ip", "link", "del", f"jkr-{scope}", check=False)
        for h in hosts:
            shutil.rmtree(h.dir, ignore_errors=True)
        state.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.dir.rmdir()  # only when empty: never removes what we did not make
        for p in self._procs:
            with contextlib.suppress(Exception):
                p.wait(0)  # reap
        self._procs = []
        if problems:
            raise SimHostsError("sim hosts not fully removed: " + "; ".join(problems))

    def remove(self, h: Host) -> None:
        """Take host ``h`` away as a machine that dies: everything running in it is
        killed (its dockerd, its containers, any agent started in its namespace), then its
        namespace goes, and with it its end of the sim network; the other hosts stay."""
        problems: list[str] = []
        self._stop_dockerds([h], problems)
        self._remove_cgroups(h, problems)
        self._unmount_under(h.dir, problems)
        res = _sh("ip", "netns", "del", h.netns, check=False)
        if res.returncode:
            problems.append(f"ip netns del {h.netns}: {res.stderr.strip()}")
        shutil.rmtree(h.dir, ignore_errors=True)
        self.hosts = [x for x in self.hosts if x.netns != h.netns]
        if problems:
            raise SimHostsError(f"{h.netns} not fully removed: " + "; ".join(problems))

    def _remove_containers(self, h: Host) -> None:
        if not h.socket.exists():
            return
        with contextlib.suppress(Exception):
            c = h.client(timeout=5)
            for ctr in c.api.containers(all=True):
                with contextlib.suppress(Exception):
                    c.api.remove_container(ctr["Id"], force=True, v=True)

    def _stop_dockerds(self, hosts: Sequence[Host], problems: list[str]) -> None:
        daemons: list[int] = []
        for h in hosts:
            with contextlib.suppress(OSError, ValueError):
                pid = int(h.pidfile.read_text().strip())
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                if str(h.pidfile).encode() in cmd:  # the pid is still that dockerd
                    os.kill(pid, signal.SIGTERM)
                    daemons.append(pid)
        _wait_gone(daemons, 10)
        rest: list[int] = list(daemons)
        for h in hosts:  # what is left in the host's namespace or its cgroup is the host's
            out = _sh("ip", "netns", "pids", h.netns, check=False).stdout
            rest += [int(p) for p in out.split() if p.isdigit()] + _cgroup_pids(h)
        for pid in rest:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for p in self._procs:
            with contextlib.suppress(Exception):
                p.wait(0.01)
        if left := _wait_gone(rest, 10):
            problems.append(f"processes still running: {left}")

    @staticmethod
    def _remove_cgroups(h: Host, problems: list[str]) -> None:
        for top in _cgroup_dirs(h.cgroup_parent):
            # bottom up; a container's cgroup the runtime removes meanwhile is skipped (a
            # walk that vanishes under os.walk is not an error; rglob raised here once)
            for d, _, _ in os.walk(top, topdown=False):
                with contextlib.suppress(OSError):
                    os.rmdir(d)
            if top.exists():
                problems.append(f"cgroup {top}: still there (busy)")

    @staticmethod
    def _unmount_under(dir: Path, problems: list[str]) -> None:
        root = str(dir.resolve()) if dir.exists() else str(dir)
        points = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
        for mp in sorted({p for p in points if p == root or p.startswith(root + "/")},
                         key=lambda p: -p.count("/")):
            res = _sh("umount", "-l", mp, check=False)
            if res.returncode:
                problems.append(f"umount {mp}: {res.stderr.strip()}")


def up(n: int, scope: str = DEFAULT_SCOPE, dir: Path | str | None = None) -> SimHosts:
    """Make ``n`` sim hosts; the caller calls ``down()`` (or ``down(scope, dir)``)."""
    return SimHosts(n, scope, dir).up()


def down(scope: str = DEFAULT_SCOPE, dir: Path | str | None = None) -> None:
    SimHosts(0, scope, dir).down()


@contextlib.contextmanager
def sim_hosts(n: int, scope: str = DEFAULT_SCOPE, dir: Path | str | None = None) -> Iterator[SimHosts]:
    with SimHosts(n, scope, dir) as hosts:
        yield hosts


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="scripts/hosts", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("up", help="make N hosts")
    u.add_argument("n", type=int)
    for p in (u, sub.add_parser("down", help="remove the hosts of a scope/dir")):
        p.add_argument("--scope", default=None, help=f"names' suffix (default {DEFAULT_SCOPE})")
        p.add_argument("--dir", default=None, help="state and dockerd files (default "
                       "/tmp/jetkube-simhosts-SCOPE)")
    args = ap.parse_args(argv)
    scope = args.scope
    if scope is None and args.dir is not None and (Path(args.dir) / STATE_FILE).exists():
        scope = parse_state((Path(args.dir) / STATE_FILE).read_text(), Path(args.dir))[0]
    scope = scope or DEFAULT_SCOPE
    try:
        if args.cmd == "down":
            down(scope, args.dir)
            return 0
        started = time.monotonic()
        sim = up(args.n, scope, args.dir)
    except (SimHostsError, ValueError) as err:
        print(f"hosts: {err}", file=sys.stderr)
        return 1
    print(f"# sim network {sim.subnet} (root namespace: {sim.gateway} on {sim.root_link}); "
          f"up in {time.monotonic() - started:.1f} s; remove with: scripts/hosts down --dir {sim.dir}")
    for h in sim.hosts:
        print(f"{h.netns}\t{h.address}\tDOCKER_HOST={h.docker_host}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
