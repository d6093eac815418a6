"""Forms for regions and their rules, municipalities, issuing sites and venues."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    StopValidation,
)

from app.digits import AsciiDigitsField, ascii_int

SITE_KIND_LABELS = {
    "social_services": _l("Social services"), "youth_work": _l("Youth work"),
    "health": _l("Health services"), "ngo": _l("Organisation (NGO)"), "other": _l("Other"),
}
CATEGORY_LABELS = {
    "culture": _l("Culture"), "education": _l("Education"), "science": _l("Science"),
    "sports": _l("Sports"),
}
ART_FORM_LABELS = {
    "theatre": _l("Theatre"), "music": _l("Music"), "museum": _l("Museum"), "dance": _l("Dance"),
    "cinema": _l("Cinema"), "library": _l("Library"), "visual_arts": _l("Visual arts"),
    "festival": _l("Festival"), "course": _l("Course"), "sports": _l("Sports"),
    "other": _l("Other"),
}
VALIDITY_LABELS = {"months": _l("A number of months from issue"),
                   "calendar_year": _l("Until the end of the calendar year")}
PERIOD_LABELS = {"month": _l("per calendar month"), "year": _l("per calendar year")}
NETWORK_LABELS = {True: _l("In the national network: cards of other network regions are valid "
                           "here, and ours there"),
                  False: _l("Local only: only cards of this region are valid here")}

RULE_FIELDS = ("national_network", "validity", "validity_months", "period_limit", "period",
               "community_group_size")
REGION_FIELDS = ("code", "name_fi", "name_sv", "name_en", "min_age", "child_max_age")


def _choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _upper(value):
    return value.strip().upper() if isinstance(value, str) else value


def _as_bool(value) -> bool:
    """Read a submitted yes/no choice; rendered values are "True" and "False"."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "national"):
        return True
    if text in ("false", "0", "local"):
        return False
    raise ValueError(value)


class WholeField(AsciiDigitsField, IntegerField):
    """A whole number in the digits 0-9."""


def _whole(label, low: int, high: int, message, required: bool = True, before=(),
           **kwargs) -> IntegerField:
    """A whole-number field with one message for "missing", "not a number" and "out of range"."""
    first = [InputRequired(message)] if required else [Optional()]
    return WholeField(label, validators=[*before, *first, NumberRange(low, high, message)],
                        invalid_value_message=message,
                        render_kw={"inputmode": "numeric", "min": low, "max": high}, **kwargs)


def _months_unless_calendar_year(form, field) -> None:
    """Months may be left empty when cards run to the end of the calendar year."""
    empty = not field.raw_data or not str(field.raw_data[0]).strip()
    if empty and form.validity.data == "calendar_year":
        field.errors[:] = []
        raise StopValidation()


class RulesForm(FlaskForm):
    """The rules a region's coordinator may change (DESIGN §4)."""

    national_network = RadioField(
        _l("Where cards are valid"), choices=_choices(NETWORK_LABELS), coerce=_as_bool,
        default=True, invalid_choice_message=_l("Choose where the cards are valid."),
        invalid_value_message=_l("Choose where the cards are valid."))
    validity = RadioField(_l("Cards are valid"), choices=_choices(VALIDITY_LABELS),
                          default="months",
                          invalid_choice_message=_l("Choose how long cards are valid."))
    validity_months = _whole(_l("Months of validity"), 1, 60,
                             _l("Enter the number of months, from 1 to 60."), default=12,
                             before=[_months_unless_calendar_year])
    period_limit = _whole(_l("Uses at most"), 1, 100,
                          _l("Enter a number from 1 to 100, or leave empty for no limit."),
                          required=False)
    period = SelectField(_l("Period of the limit"), choices=_choices(PERIOD_LABELS),
                         default="month", invalid_choice_message=_l("Choose month or year."))
    community_group_size = _whole(_l("Community card group size"), 1, 100,
                                  _l("Enter a number from 1 to 100."), default=10)


class RegionForm(RulesForm):
    """A region as the national administrator sees it: names, code and all of its rules."""

    code = StringField(_l("Code"), filters=[_upper], validators=[
        DataRequired(_l("Enter a code of 2 to 16 letters A–Z or digits.")),
        Regexp(r"^[A-Z0-9]{2,16}$", message=_l("Enter a code of 2 to 16 letters A–Z or digits."))],
        render_kw={"autocapitalize": "characters", "autocomplete": "off", "maxlength": 16})
    name_fi = StringField(_l("Name in Finnish"), filters=[_strip],
                          validators=[DataRequired(_l("Enter the name in Finnish.")),
                                      Length(max=120, message=_l("At most 120 characters."))])
    name_sv = StringField(_l("Name in Swedish"), filters=[_strip],
                          validators=[Length(max=120, message=_l("At most 120 characters."))])
    name_en = StringField(_l("Name in English"), filters=[_strip],
                          validators=[Length(max=120, message=_l("At most 120 characters."))])
    min_age = _whole(_l("Minimum age of a holder"), 0, 120,
                     _l("Enter an age from 0 to 120."), default=16)
    child_max_age = _whole(_l("Children count up to the age of"), 0, 17,
                           _l("Enter an age from 0 to 17."), default=17)


class PlaceForm(FlaskForm):
    """What every place has: a region (chosen by admins only) and a name."""

    region = SelectField(_l("Region"), coerce=ascii_int, validators=[InputRequired(_l("Choose a region."))],
                         invalid_value_message=_l("Choose a region."),
                         invalid_choice_message=_l("Choose a region."))
    name = StringField(_l("Name"), filters=[_strip], validators=[
        DataRequired(_l("Enter the name.")), Length(max=160, message=_l("At most 160 characters."))])

    def __init__(self, *args, choose_region: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not choose_region:
            del self.region


class MunicipalityForm(PlaceForm):
    """A municipality of a region."""

    name = StringField(_l("Name"), filters=[_strip], validators=[
        DataRequired(_l("Enter the name.")), Length(max=120, message=_l("At most 120 characters."))])


class SiteForm(PlaceForm):
    """An issuing site: a service that hands cards out."""

    kind = SelectField(_l("Kind of service"), choices=_choices(SITE_KIND_LABELS),
                       invalid_choice_message=_l("Choose the kind of service."))


class VenueForm(PlaceForm):
    """A venue that admits card holders."""

    category = SelectField(_l("Category"), choices=_choices(CATEGORY_LABELS),
                           invalid_choice_message=_l("Choose a category."))
    art_form = SelectField(_l("Art form"), choices=_choices(ART_FORM_LABELS),
                           invalid_choice_message=_l("Choose an art form."))
    default_quota = _whole(_l("Default Kaikukortti quota per event"), 0, 100000,
                           _l("Enter 0 or more (persons per event), or leave empty for no quota."),
                           required=False)


class ActiveForm(FlaskForm):
    """Deactivate or reactivate something: the wanted state in a hidden field."""

    active = HiddenField(validators=[AnyOf(("0", "1"))])

    @property
    def wanted(self) -> bool:
        """Whether the object should be active afterwards."""
        return self.active.data == "1"
