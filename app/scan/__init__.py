"""The box office: the scanner PWA (pages) and its JSON API, on top of the door service."""
from flask import Blueprint

bp = Blueprint("scan", __name__)
api = Blueprint("scan_api", __name__, url_prefix="/api")

from app.scan import api_views, views  # noqa: E402, F401  (routes register on the blueprints)
