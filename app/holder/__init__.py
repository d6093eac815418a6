"""The holder's digital card: a private link that works offline once opened (DESIGN §5)."""
from flask import Blueprint

bp = Blueprint("holder", __name__)

from app.holder import views  # noqa: E402, F401  (routes register on bp)
