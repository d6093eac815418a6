"""Serve the app with waitress: `python -m app.serve [--host H] [--port P] [--threads N]`.

The one way the app is started (`make run`, the tests, an operator), so that waitress and the
app read the proxy setting together. With KAIKU_TRUSTED_PROXY set, waitress believes the
X-Forwarded-For and X-Forwarded-Proto of requests that come from that address (one proxy) and
sets REMOTE_ADDR and wsgi.url_scheme from them; from any other address, and always without the
setting, it drops every X-Forwarded-* and Forwarded header before the app sees it.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from app import config

TRUSTED_PROXY_HEADERS = frozenset({"x-forwarded-for", "x-forwarded-proto"})


def waitress_options(environ: dict[str, str]) -> dict:
    """The proxy-related waitress settings for this environment (see the module docstring).

    The Host header is the proxy's to pass on (nginx: `proxy_set_header Host $http_host`);
    X-Forwarded-Host is not believed, so a proxy that forgets to set it leaves nothing to forge.
    """
    options = {"clear_untrusted_proxy_headers": True}
    proxy = config.trusted_proxy(environ)
    if proxy is not None:
        options.update(trusted_proxy=proxy, trusted_proxy_count=1,
                       trusted_proxy_headers=set(TRUSTED_PROXY_HEADERS))
    return options


def main(argv: list[str] | None = None) -> None:
    """Read the command line and the environment, build the app, serve it until stopped."""
    parser = argparse.ArgumentParser(prog="python -m app.serve", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    parser.add_argument("--threads", type=int, default=8, help="worker threads (8)")
    args = parser.parse_args(argv)
    try:
        options = waitress_options(dict(os.environ))
    except config.ConfigError as exc:
        sys.exit(f"app.serve: {exc}")
    import waitress

    from app import create_app

    logger = logging.getLogger("waitress")
    if logger.level == logging.NOTSET:  # as waitress's own command line does
        logger.setLevel(logging.INFO)
    waitress.serve(create_app(), host=args.host, port=args.port, threads=args.threads,
                   **options)


if __name__ == "__main__":
    main()
