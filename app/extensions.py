"""Flask extensions, created unbound and initialised in create_app()."""
import time

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from limits.storage import MemoryStorage
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints, so later migrations (SQLite batch mode included) can find them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base shared by every model."""

    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True)
csrf = CSRFProtect()
login = LoginManager()
babel = Babel()


class SweptMemoryStorage(MemoryStorage):
    """limits' in-memory counters without their clean-up thread.

    The stock storage starts a new timer thread on nearly every counted request (each lives
    10 ms), which cost a redeem about 1 ms of the server's time. Expired counters are already
    ignored when read; here they are swept from memory once a minute, on a request.
    """

    STORAGE_SCHEME = ["swept-memory"]  # noqa: RUF012 (the base class declares it so)
    SWEEP_SECONDS = 60.0
    _next_sweep = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 (the base class's private hook)
        now = time.time()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_SECONDS
            self._MemoryStorage__expire_events()


# Counters live in each process's memory: a per-process ceiling, not a shared quota.
limiter = Limiter(key_func=get_remote_address, storage_uri="swept-memory://")
