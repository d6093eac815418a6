"""Issuing cards: register, print, renew, replace, deactivate (DESIGN §3, §5)."""
from flask import Blueprint

bp = Blueprint("cards", __name__, url_prefix="/cards")

from app.cards import views  # noqa: E402, F401  (routes register on bp)
