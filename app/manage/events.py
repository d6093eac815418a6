"""Management views (being written)."""
from app.manage import bp  # noqa: F401
