"""The benchmarks' Server-Timing header: there when switched on, never by default."""
from __future__ import annotations

import re

from flask import Flask

from app import timing


def small_app(enabled: bool) -> Flask:
    app = Flask("timed")
    app.config["SERVER_TIMING"] = enabled

    @app.route("/")
    def index():
        return "ok"

    timing.init_app(app)
    return app


def test_server_timing_is_sent_when_switched_on():
    answer = small_app(True).test_client().get("/")
    assert re.fullmatch(r"app;dur=\d+\.\d\d", answer.headers["Server-Timing"])


def test_server_timing_is_not_sent_unless_switched_on(app, monkeypatch):
    monkeypatch.delenv("KAIKU_SERVER_TIMING", raising=False)
    assert "Server-Timing" not in small_app(False).test_client().get("/").headers
    assert "Server-Timing" not in app.test_client().get("/healthz").headers
