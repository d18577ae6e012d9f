"""uvicorn's ``--workers`` listening socket, made so that answers are not delayed.

uvicorn makes the socket it shares between worker processes with protocol
number 0, and asyncio sets ``TCP_NODELAY`` only on connections whose socket
says ``IPPROTO_TCP``.  Without it, each answer -- headers, then body: two
small writes -- waits in Nagle's algorithm for the client's delayed ACK:
about 40 ms a report on a kept-alive connection, so one connection carried
some 23 reports/s.  (With one process asyncio makes the socket itself, with
the protocol number, and all is well.)  :class:`TcpConfig` hands uvicorn the
same socket, labelled ``IPPROTO_TCP``.  It lives in a module of its own so
that worker processes (started by ``spawn``) can unpickle it.
"""

from __future__ import annotations

import socket

import uvicorn

__all__ = ["TcpConfig"]


class TcpConfig(uvicorn.Config):
    """A ``uvicorn.Config`` whose ``bind_socket`` answers a TCP socket
    labelled ``IPPROTO_TCP`` (Unix sockets and inherited ones unchanged)."""

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return sock
        tcp = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        tcp.set_inheritable(True)
        return tcp
