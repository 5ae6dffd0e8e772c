"""Checking whether something listens on a TCP port."""

from __future__ import annotations

import socket


def port_open(host: str, port: int) -> bool:
    """True when a TCP connection to ``host:port`` is accepted right now."""
    connect_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    with socket.socket(socket.AF_INET6 if ":" in connect_host else socket.AF_INET) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((connect_host, port)) == 0
