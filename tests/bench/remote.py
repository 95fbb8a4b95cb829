"""The feed server (tests/feedkit.py) in its own process, steered over loopback.

The poll and burst cases run the bot in the benchmark's process and count that whole
process's CPU (the bot's HTTP watchdog is a thread of its own): the server's work
must happen elsewhere. Routes are set with ``POST /__routes__`` (JSON), article
photos are one JPEG served for every path under ``/photos/``.

Run as ``python -m tests.bench.remote --port N --photo FILE``; it prints one line
when it is ready.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import requests

from tests.bench.common import ROOT, free_port
from tests.feedkit import FeedServer, Route


def serve(port: int, photo: bytes) -> None:
    """Serve until SIGTERM."""
    server = FeedServer()
    server.httpd.server_close()
    from http.server import ThreadingHTTPServer

    handler = server.httpd.RequestHandlerClass
    plain_get = handler.do_GET  # type: ignore[attr-defined]

    def do_get(h: BaseHTTPRequestHandler) -> None:
        if h.path.startswith("/photos/"):
            h.send_response(200)
            h.send_header("Content-Type", "image/jpeg")
            h.send_header("Content-Length", str(len(photo)))
            h.end_headers()
            h.wfile.write(photo)
            return
        plain_get(h)

    def do_post(h: BaseHTTPRequestHandler) -> None:
        data = json.loads(h.rfile.read(int(h.headers.get("Content-Length") or 0)))
        for spec in data:
            server.routes[spec["path"]] = Route(
                body=base64.b64decode(spec["body"]), etag=spec["etag"],
                last_modified=spec["last_modified"],
                pages={int(n): base64.b64decode(b) for n, b in spec["pages"].items()})
        server.requests.clear()  # nobody reads them here; keep memory flat
        h.send_response(204)
        h.send_header("Content-Length", "0")
        h.end_headers()

    handler.do_GET = do_get  # type: ignore[attr-defined]
    handler.do_POST = do_post  # type: ignore[attr-defined]
    server.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.httpd.daemon_threads = True
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    threading.Thread(target=server.httpd.serve_forever, args=(0.05,), daemon=True).start()
    print(f"feed server on {port}", flush=True)
    done.wait()
    server.httpd.shutdown()


class RemoteFeeds:
    """The benchmark's handle on the server process: URLs, and setting routes."""

    def __init__(self, port: int, proc: subprocess.Popen[str]) -> None:
        self.port = port
        self.proc = proc
        self.routes: dict[str, Route] = {}

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` on the server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def set(self, path: str, route: Route) -> None:
        """Serve ``route`` at ``path`` from now on."""
        spec: dict[str, Any] = {
            "path": path, "body": base64.b64encode(route.body).decode(), "etag": route.etag,
            "last_modified": route.last_modified,
            "pages": {str(n): base64.b64encode(b).decode() for n, b in route.pages.items()}}
        requests.post(self.url("/__routes__"), json=[spec], timeout=30).raise_for_status()
        self.routes[path] = route


@contextmanager
def remote_feeds(photo: bytes) -> Iterator[RemoteFeeds]:
    """A running feed server process that serves ``photo`` under ``/photos/``."""
    port = free_port()
    with tempfile.NamedTemporaryFile(suffix=".jpg", delete=False) as handle:
        handle.write(photo)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.remote", "--port", str(port), "--photo",
         handle.name], cwd=ROOT, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stdout is not None
        if "feed server on" not in proc.stdout.readline():
            raise RuntimeError("the feed server process did not start")
        yield RemoteFeeds(port, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        Path(handle.name).unlink(missing_ok=True)


def main() -> None:
    """Parse the arguments and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--photo", type=Path, required=True)
    args = parser.parse_args()
    serve(args.port, args.photo.read_bytes())


if __name__ == "__main__":
    main()
