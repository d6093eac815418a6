"""Management for coordinators (their region) and admins (all): places, events, staff, rules."""
from flask import Blueprint

bp = Blueprint("manage", __name__, url_prefix="/manage")

from app.manage import audit_views, conflicts, events, places, refused, staff, views  # noqa: E402, F401
