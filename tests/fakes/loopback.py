"""What every loopback fake shares: a threaded HTTP server on 127.0.0.1 that hands each
request to its `_handle(handler)`, and a JSON answer that tolerates a client that gave up."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LoopbackServer:
    def __init__(self) -> None:
        self._stopping = threading.Event()  # set on stop: wakes answers told to be slow
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    def start(self):  # noqa: ANN201 - the subclass
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()


def send(handler: BaseHTTPRequestHandler, status: int, body: Any,
         headers: dict[str, str] | None = None) -> None:
    """`body` as JSON (None: no body), with `headers`."""
    data = b"" if body is None else json.dumps(body).encode("utf-8")
    try:
        handler.send_response(status)
        if body is not None:
            handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        if data and handler.command != "HEAD":
            handler.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up waiting (a timeout test): nothing to tell it


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _any(self) -> None:
        self.server.fake._handle(self)  # type: ignore[attr-defined]

    do_GET = do_HEAD = do_POST = do_PATCH = do_PUT = do_DELETE = _any

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass
