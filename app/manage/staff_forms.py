"""Forms of the staff-account screens. Labels and errors go through the translation layer."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from app.digits import ascii_int
from app.manage.events_forms import optional_id
from app.manage.staff_service import MAX_PASSWORD, MIN_PASSWORD


def username_text(value: str | None) -> str | None:
    """Usernames are lower case, without spaces around."""
    return value.strip().lower() if isinstance(value, str) else value


class StaffForm(FlaskForm):
    """An account's username, role and scope; the choices come from the view."""

    username = StringField(_l("Username"), filters=[username_text], validators=[
        DataRequired(_l("Enter a username.")),
        Regexp(r"^[a-z0-9._-]{3,64}$",
               message=_l("3–64 characters: letters a–z, digits, full stop, _ and -."))],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"})
    role = SelectField(_l("Role"), validators=[InputRequired(_l("Choose the role."))])
    region = SelectField(_l("Region"), coerce=optional_id, validators=[Optional()])
    issuing_site = SelectField(_l("Issuing site"), coerce=optional_id, validators=[Optional()])
    venues = SelectMultipleField(_l("Venues"), coerce=ascii_int, validators=[Optional()],
                                 widget=ListWidget(prefix_label=False),
                                 option_widget=CheckboxInput())


class NewStaffForm(StaffForm):
    """A new account, with a typed or a generated first password."""

    password = PasswordField(_l("Password (optional)"), validators=[
        Optional(), Length(MIN_PASSWORD, MAX_PASSWORD, _l("From %(min)d to %(max)d characters."))],
        render_kw={"autocomplete": "new-password"})


class PasswordForm(FlaskForm):
    """Reset a password: a typed one, or an empty field for a generated one."""

    password = PasswordField(_l("New password (optional)"), validators=[
        Optional(), Length(MIN_PASSWORD, MAX_PASSWORD, _l("From %(min)d to %(max)d characters."))],
        render_kw={"autocomplete": "new-password"})


class StaffFilterForm(FlaskForm):
    """Narrow the list of accounts by role and region."""

    class Meta:
        csrf = False  # a search changes nothing

    role = SelectField(_l("Role"), validators=[Optional()])
    region = SelectField(_l("Region"), coerce=optional_id, validators=[Optional()])


class ActiveForm(FlaskForm):
    """Deactivate (0) or reactivate (1): the CSRF token and the wanted state."""

    active = HiddenField(validators=[AnyOf(["0", "1"])])
