"""Pages of the scanner PWA."""
from app.scan import bp  # noqa: F401
