"""Statistics (DESIGN §8): queries that return select()s, the dashboard, exports, synthetic data."""
from flask import Blueprint

bp = Blueprint("stats", __name__, url_prefix="/stats")

from app.stats import views  # noqa: E402, F401
