"""The benchmarks' way in: a Flask test client signed in through /login as a browser is."""
from __future__ import annotations

import re
import sys

from flask import Flask
from flask.testing import FlaskClient

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_token(page: str) -> str:
    """The CSRF token of a page (DESIGN §7: its csrf-token meta tag)."""
    return CSRF_META.search(page).group(1)


def signed_in(app: Flask, username: str, password: str) -> FlaskClient:
    """A test client signed in through the login form; exits if the login is refused."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    answer = client.post("/login", data={"username": username, "password": password,
                                         "csrf_token": csrf_token(page)})
    if answer.status_code != 302:
        sys.exit(f"could not log in as {username} ({answer.status_code})")
    return client
