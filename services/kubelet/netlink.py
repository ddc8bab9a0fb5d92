"""The few rtnetlink requests a node agent sends to wire a pod, in-process.

What ``ip link add ... type veth peer ... netns PID``, ``ip addr add`` and ``ip route
add`` send, as bytes on a NETLINK_ROUTE socket: no process per command.  Measured under
bench/pod_startup.py at 10 pods/s, the two ``ip`` processes a pod's wiring took cost the
agent's event loop 12 ms of GIL-held time per spawn (the fork of a loaded, many-threaded
process), a third of everything it held the GIL for.

:func:`wire_pod` runs on a thread of its own: it makes the veth from the node's side (its
end on the bridge and up, its peer ``eth0`` created in the pod's namespace and up, both
at the given MTU, in one request), then enters the pod's namespace (``setns``, which
moves only the calling thread), brings ``eth0`` up, adds the address and the default
route there, and
returns to the node's namespace; a thread that could not return is let end, never reused.
Errors are the kernel's (``OSError`` with its errno), as ``ip`` would report them.
"""

from __future__ import annotations

import ctypes
import ipaddress
import os
import socket
import struct
import threading
from collections.abc import Callable

__all__ = ["addr_request", "route_request", "up_request", "veth_request", "wire_pod"]

RTM_NEWLINK, RTM_NEWADDR, RTM_NEWROUTE = 16, 20, 24
NLMSG_ERROR = 2
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x200, 0x400
IFLA_IFNAME, IFLA_MTU, IFLA_MASTER, IFLA_LINKINFO, IFLA_NET_NS_PID = 3, 4, 10, 18, 19
IFLA_INFO_KIND, IFLA_INFO_DATA, VETH_INFO_PEER = 1, 2, 1
IFA_ADDRESS, IFA_LOCAL = 1, 2
RTA_OIF, RTA_GATEWAY = 4, 5
RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST = 254, 3, 0, 1
IFF_UP = 0x1
CLONE_NEWNET = 0x40000000
CREATE = NLM_F_CREATE | NLM_F_EXCL


def _attr(kind: int, data: bytes) -> bytes:
    n = 4 + len(data)
    return struct.pack("=HH", n, kind) + data + b"\0" * (-n % 4)


def _ifinfo(index: int = 0, flags: int = 0, change: int = 0) -> bytes:
    """``struct ifinfomsg``: family, type, index, flags, change."""
    return struct.pack("=BxHiII", socket.AF_UNSPEC, 0, index, flags, change)


def _name(name: str) -> bytes:
    return name.encode() + b"\0"


def veth_request(host_if: str, bridge_index: int, pid: int, mtu: int | None = None) -> bytes:
    """RTM_NEWLINK: a veth ``host_if`` (up, on the bridge) whose peer ``eth0`` is made in the
    network namespace of process ``pid`` (brought up from there, :func:`up_request`: the
    kernel refuses to open a veth end before its pair is complete, ENOTCONN)."""
    mtu_attr = _attr(IFLA_MTU, struct.pack("=I", mtu)) if mtu else b""
    peer = (_ifinfo() + _attr(IFLA_IFNAME, _name("eth0")) + mtu_attr
            + _attr(IFLA_NET_NS_PID, struct.pack("=I", pid)))
    info = _attr(IFLA_INFO_KIND, b"veth") + _attr(IFLA_INFO_DATA, _attr(VETH_INFO_PEER, peer))
    return (_ifinfo(flags=IFF_UP, change=IFF_UP) + _attr(IFLA_IFNAME, _name(host_if)) + mtu_attr
            + _attr(IFLA_MASTER, struct.pack("=I", bridge_index)) + _attr(IFLA_LINKINFO, info))


def up_request(index: int) -> bytes:
    """RTM_NEWLINK on link ``index``: up."""
    return _ifinfo(index=index, flags=IFF_UP, change=IFF_UP)


def addr_request(index: int, ip: str, prefixlen: int) -> bytes:
    """RTM_NEWADDR: ``ip/prefixlen`` on link ``index``."""
    packed = ipaddress.IPv4Address(ip).packed
    return (struct.pack("=BBBBI", socket.AF_INET, prefixlen, 0, RT_SCOPE_UNIVERSE, index)
            + _attr(IFA_LOCAL, packed) + _attr(IFA_ADDRESS, packed))


def route_request(index: int, gateway: str) -> bytes:
    """RTM_NEWROUTE: the default route through ``gateway`` on link ``index``."""
    return (struct.pack("=BBBBBBBBI", socket.AF_INET, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT,
                        RT_SCOPE_UNIVERSE, RTN_UNICAST, 0)
            + _attr(RTA_GATEWAY, ipaddress.IPv4Address(gateway).packed)
            + _attr(RTA_OIF, struct.pack("=I", index)))


class _Socket:
    """A NETLINK_ROUTE socket of the calling thread's network namespace."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
        self.sock.bind((0, 0))
        self.seq = 0

    def request(self, kind: int, flags: int, body: bytes) -> None:
        self.seq += 1
        self.sock.sendto(struct.pack("=IHHII", 16 + len(body), kind,
                                     flags | NLM_F_REQUEST | NLM_F_ACK, self.seq, 0) + body,
                         (0, 0))  # to the kernel
        while True:
            data, off = self.sock.recv(65536), 0
            while off + 16 <= len(data):
                length, mtype, _, seq, _ = struct.unpack_from("=IHHII", data, off)
                if mtype == NLMSG_ERROR and seq == self.seq:
                    (err,) = struct.unpack_from("=i", data, off + 16)
                    if err:
                        raise OSError(-err, os.strerror(-err))
                    return
                off += max(16, (length + 3) & ~3)

    def close(self) -> None:
        self.sock.close()


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _wire(pid: int, host_if: str, bridge: str, ip: str, prefixlen: int, gateway: str,
          mtu: int | None) -> None:
    nl = _Socket()
    try:
        nl.request(RTM_NEWLINK, CREATE, veth_request(host_if, socket.if_nametoindex(bridge),
                                                     pid, mtu))
    finally:
        nl.close()
    own = os.open("/proc/self/ns/net", os.O_RDONLY)  # the process's: the node's namespace
    pod = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    try:
        _setns(pod)
        try:
            nl = _Socket()  # (a socket belongs to the namespace it is made in)
            try:
                index = socket.if_nametoindex("eth0")
                nl.request(RTM_NEWLINK, 0, up_request(index))
                nl.request(RTM_NEWADDR, CREATE, addr_request(index, ip, prefixlen))
                nl.request(RTM_NEWROUTE, CREATE, route_request(index, gateway))
            finally:
                nl.close()
        finally:
            _setns(own)  # if this fails the thread ends here, in the pod's namespace
    finally:
        os.close(pod)
        os.close(own)


def wire_pod(pid: int, host_if: str, bridge: str, ip: str, cidr: str, mtu: int | None,
             done: Callable[[BaseException | None], object]) -> None:
    """Wire process ``pid``'s namespace on a thread of its own; ``done(error)`` after."""
    net = ipaddress.ip_network(cidr, strict=False)

    def run() -> None:
        try:
            _wire(pid, host_if, bridge, ip, net.prefixlen, str(net.network_address + 1), mtu)
        except BaseException as err:  # handed to the caller
            done(err)
        else:
            done(None)

    threading.Thread(target=run, name=f"wire-{host_if}", daemon=True).start()
