"""The management start page."""
from flask import current_app, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.auth import roles
from app.extensions import db
from app.manage import bp
from app.manage.scope import MANAGERS, regions_of

SECTIONS = [
    ("manage.regions", _l("Region and its rules")),
    ("manage.municipalities", _l("Municipalities")),
    ("manage.sites", _l("Issuing sites")),
    ("manage.venues", _l("Venues")),
    ("manage.events", _l("Events and courses")),
    ("manage.staff", _l("Staff accounts")),
    ("manage.conflicts", _l("Offline conflicts")),
    ("manage.refused", _l("Refused offline records")),
    ("manage.audit", _l("Audit log")),
]


@bp.route("/")
@roles(*MANAGERS)
def index():
    """Sections of management for the account's region(s)."""
    sections = [(e, label) for e, label in SECTIONS if e in current_app.view_functions]
    return render_template("manage/index.html", manage_sections=sections,
                           regions=db.session.scalars(regions_of(current_user)).all())
