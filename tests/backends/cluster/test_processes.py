"""Ports for child processes: free now, and not one an outgoing connection can take before the child binds it."""

from __future__ import annotations

import socket
from pathlib import Path

from backends.cluster.processes import free_port, port_is_free


def _lowest_outgoing_port() -> int:
    return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])


def test_a_free_port_lies_below_the_ports_outgoing_connections_are_given() -> None:
    """Before, it was a port the kernel picked from that very range: between the probe and the child's
    bind another process's connection took it as its source port once ("address already in use")."""
    low = _lowest_outgoing_port()
    ports = {free_port() for _ in range(50)}
    assert all(1024 <= port < low for port in ports), sorted(ports)
    assert len(ports) > 40  # spread out: two tests asking at once seldom get the same one


def test_a_free_port_is_free_and_a_taken_one_is_not() -> None:
    port = free_port()
    assert port_is_free(port)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        assert not port_is_free(port)
