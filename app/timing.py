"""Opt-in server timing for benchmarks: `Server-Timing: app;dur=<ms>` on every answer.

Off unless KAIKU_SERVER_TIMING=1 (or SERVER_TIMING in the config): a production server does
not tell the world how long its work took. bench/redeem.py reads the header to measure the
server's own time for each request, which a client on a busy machine cannot.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable

from flask import Flask

HEADER = "Server-Timing"


def init_app(app: Flask) -> None:
    """Time each request inside the WSGI app when server timing is switched on."""
    enabled = app.config.get("SERVER_TIMING", os.environ.get("KAIKU_SERVER_TIMING") == "1")
    if enabled:
        app.wsgi_app = ServerTiming(app.wsgi_app)


class ServerTiming:
    """WSGI middleware: the time from the call until the status and headers go out.

    Wrapping the WSGI app rather than using after_request also counts what Flask does around
    the view: the request context, the session cookie, the login gate and the after_request
    handlers. Only the closing teardown (the database connection back to its pool) and the
    server's socket work are left out, since the header must be written before they run.
    """

    def __init__(self, wsgi_app: Callable) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        began = time.perf_counter()

        def timed_start_response(status: str, headers: list, exc_info=None):
            elapsed_ms = (time.perf_counter() - began) * 1000
            headers = [*headers, (HEADER, f"app;dur={elapsed_ms:.2f}")]
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, timed_start_response)
