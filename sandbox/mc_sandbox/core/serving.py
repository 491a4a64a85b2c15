"""Running a socketserver-style HTTP server (http.server or werkzeug) on a thread of its own."""

from __future__ import annotations

import threading


def serve_in_thread(server, name: str) -> threading.Thread:
    """Start `server.serve_forever` on a daemon thread named `name`.

    A short poll interval keeps `stop_server` quick: shutdown() waits for the loop to notice.
    """
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True)
    thread.start()
    return thread


def stop_server(server, thread: threading.Thread) -> None:
    """Stop serving, close the listening socket and wait for the serving thread."""
    server.shutdown()
    server.server_close()
    thread.join()
