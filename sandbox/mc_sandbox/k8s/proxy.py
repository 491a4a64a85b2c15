"""A TCP pass-through in front of a cluster's API server: the address clients use.

A region outage closes the listener and every open connection (clients see connection refused,
as they would with the region's network gone); `up()` listens again on the same port. The
control plane's own components talk to the API server directly and are not affected.
"""

from __future__ import annotations

import socket
import threading

from mc_sandbox.core.procs import LOOPBACK

_CHUNK = 65536


class TcpProxy:
    def __init__(self, listen_port: int, target_port: int, host: str = LOOPBACK):
        self.host = host
        self.port = listen_port
        self.target_port = target_port
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self.connections = 0

    @property
    def is_up(self) -> bool:
        return self._listener is not None

    def up(self) -> None:
        with self._lock:
            if self._listener is not None:
                return
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(128)
            self._listener = sock
        threading.Thread(target=self._accept, args=(sock,), name=f"proxy-{self.port}", daemon=True).start()

    def down(self) -> None:
        with self._lock:
            sock, self._listener = self._listener, None
            conns, self._conns = self._conns, set()
        if sock is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone does not on Linux
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        for conn in conns:
            _close(conn)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _addr = listener.accept()
            except OSError:
                return  # listener closed by down()
            try:
                upstream = socket.create_connection((self.host, self.target_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                if self._listener is not listener:
                    _close(client)
                    _close(upstream)
                    return
                self._conns.update((client, upstream))
                self.connections += 1
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(_CHUNK):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with self._lock:
                    self._conns.discard(sock)
                _close(sock)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
