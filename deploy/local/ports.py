"""Free TCP ports, so test infrastructure never collides with a running `make run`."""

from __future__ import annotations

import socket


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now.

    The OS picks it (bind to port 0), so two callers get different ports. The port is released
    before returning; the small window until the server binds it is acceptable for local tests.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
