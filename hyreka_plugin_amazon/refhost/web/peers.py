"""Which local user opened a TCP connection to the console (Linux: ``/proc/net/tcp{,6}``).

The kernel lists every TCP socket of the network namespace with its owner's uid, whoever
owns it. The client's end of a connection is the row whose local address is the
connection's peer and whose remote address is the console's end; its uid column is the user
who opened it. Other systems have no such table: there the console cannot tell users apart
(``Verdict.UNKNOWN``; the README says what a shared machine allows then).
"""

from __future__ import annotations

import enum
import ipaddress
import os
import socket
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path

TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))

Endpoint = tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]


class Verdict(enum.Enum):
    SAME_USER = "same user"
    OTHER_USER = "another user"  # or nobody known: a loopback client missing from the table
    UNKNOWN = "unknown"  # no table (not Linux), or a client on another machine


def read_tables(paths: Iterable[Path] = TABLES) -> list[str] | None:
    """The texts of the kernel's TCP tables; None where there are none (not Linux)."""
    texts = []
    for path in paths:
        try:
            texts.append(path.read_text(encoding="ascii"))
        except OSError:
            continue
    return texts or None


def rows(text: str) -> Iterator[tuple[Endpoint, Endpoint, int]]:
    """(local, remote, uid) of each row of a ``/proc/net/tcp`` or ``tcp6`` text."""
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8:
            continue
        try:
            yield _endpoint(fields[1]), _endpoint(fields[2]), int(fields[7])
        except ValueError:
            continue


def owner(peer: Endpoint, local: Endpoint, tables: Iterable[str]) -> int | None:
    """The uid of the socket at ``peer`` connected to ``local``, None if no row has it."""
    for text in tables:
        for row_local, row_remote, uid in rows(text):
            if row_local == peer and row_remote == local:
                return uid
    return None


def verdict(connection: socket.socket, tables: list[str] | None = None) -> Verdict:
    """Whether the user at the other end of ``connection`` is this process's user."""
    try:
        peer = endpoint(connection.getpeername())
        local = endpoint(connection.getsockname())
    except (OSError, ValueError):  # gone, or not an internet socket
        return Verdict.UNKNOWN
    known = read_tables() if tables is None else tables
    if known is None:
        return Verdict.UNKNOWN
    uid = owner(peer, local, known)
    if uid is None:  # a loopback client is always in the table: refuse what is not
        return Verdict.OTHER_USER if peer[0].is_loopback else Verdict.UNKNOWN
    return Verdict.SAME_USER if uid == os.geteuid() else Verdict.OTHER_USER


def endpoint(address: tuple[object, ...]) -> Endpoint:
    """A socket address (IPv4 or IPv6, an IPv4-mapped IPv6 address as IPv4) as compared."""
    host, port = str(address[0]), int(str(address[1]))
    return _plain(ipaddress.ip_address(host.split("%")[0])), port


def _endpoint(field: str) -> Endpoint:
    """``0100007F:1F90`` (the address as the kernel holds it, 32 bits at a time in the
    machine's byte order; the port in hex) -> (127.0.0.1, 8080)."""
    host, port = field.split(":")
    if len(host) not in (8, 32):
        raise ValueError(f"not an address of /proc/net/tcp: {field!r}")
    raw = b"".join(struct.pack("=I", int(host[i : i + 8], 16)) for i in range(0, len(host), 8))
    return _plain(ipaddress.ip_address(raw)), int(port, 16)


def _plain(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
