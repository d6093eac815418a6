"""Forms of the event screens. Labels and errors go through the translation layer."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField
from wtforms.fields import DateField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from app.cards.forms import WholeNumberField
from app.digits import AsciiDigitsField, ascii_int
from app.manage.events_service import MAX_QUOTA, MAX_TITLE, SERIES_MAX, SERIES_MIN

KIND_LABELS = {"event": _l("Event (performance, exhibition, match…)"),
               "course": _l("Course (no child tickets)")}
INTERVAL_LABELS = {1: _l("Every week"), 2: _l("Every 2 weeks"), 3: _l("Every 3 weeks"),
                   4: _l("Every 4 weeks")}


def optional_id(value: object) -> int | None:
    """Coerce a select's value to an id; the blank choice is None."""
    if value in (None, "", "None"):
        return None
    return ascii_int(value)


def strip(value: str | None) -> str | None:
    """Drop the spaces around typed text."""
    return value.strip() if isinstance(value, str) else value


class LocalDateField(AsciiDigitsField, DateField):
    """A date picked or typed (2026-03-29 or 29.3.2026); a blank is left to the validators."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format=["%Y-%m-%d", "%d.%m.%Y"],
                         invalid_value_message=_l("Enter a date, e.g. 29.3.2026."), **kwargs)

    def process_formdata(self, valuelist: list[str]) -> None:
        if valuelist and not "".join(valuelist).strip():
            self.data = None
            return
        super().process_formdata([v.strip() for v in valuelist])


class ClockField(AsciiDigitsField, TimeField):
    """A wall-clock time picked or typed (17:00 or 17.00); a blank is left to the validators."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format=["%H:%M", "%H.%M", "%H:%M:%S"],
                         invalid_value_message=_l("Enter a time, e.g. 17:00."), **kwargs)

    def process_formdata(self, valuelist: list[str]) -> None:
        if valuelist and not "".join(valuelist).strip():
            self.data = None
            return
        super().process_formdata([v.strip() for v in valuelist])


class _EventFieldsForm(FlaskForm):
    """What one event and a series share."""

    venue = SelectField(_l("Venue"), coerce=optional_id,
                        validators=[InputRequired(_l("Choose the venue."))])
    title = StringField(_l("Title"), filters=[strip], validators=[
        DataRequired(_l("Enter the title.")),
        Length(max=MAX_TITLE, message=_l("At most %(max)d characters."))])
    start_time = ClockField(_l("Start time (Finnish time)"),
                            validators=[InputRequired(_l("Enter a time, e.g. 17:00."))])
    kind = RadioField(_l("Type"), default="event",
                      choices=[SelectChoice(k, label) for k, label in KIND_LABELS.items()],
                      validators=[InputRequired(_l("Choose the type."))])
    quota = WholeNumberField(
        _l("Kaikukortti quota (persons)"), not_a_number=_l("Enter a whole number, or leave empty."),
        validators=[Optional(), NumberRange(0, MAX_QUOTA, _l("Between %(min)s and %(max)s."))],
        render_kw={"inputmode": "numeric", "min": 0})


class EventForm(_EventFieldsForm):
    """Create or edit one event."""

    date = LocalDateField(_l("Date"), validators=[InputRequired(_l("Enter the date."))])


class SeriesForm(_EventFieldsForm):
    """Create a series: the same event every N weeks, a number of times or until a date."""

    first_date = LocalDateField(_l("First date"),
                                validators=[InputRequired(_l("Enter the first date."))])
    every_weeks = SelectField(_l("Repeats"), coerce=ascii_int, default=1,
                              choices=[SelectChoice(n, label) for n, label in INTERVAL_LABELS.items()],
                              validators=[InputRequired()])
    count = WholeNumberField(
        _l("Number of times"), not_a_number=_l("Enter a whole number, or leave empty."),
        validators=[Optional(), NumberRange(SERIES_MIN, SERIES_MAX, _l("Between %(min)s and %(max)s."))],
        render_kw={"inputmode": "numeric", "min": SERIES_MIN, "max": SERIES_MAX})
    until = LocalDateField(_l("…or until (last date)"), validators=[Optional()])


class EventFilterForm(FlaskForm):
    """Narrow the list of events: venue, dates, past ones."""

    class Meta:
        csrf = False  # a search changes nothing

    venue = SelectField(_l("Venue"), coerce=optional_id, validators=[Optional()])
    first_day = LocalDateField(_l("From"), validators=[Optional()])
    last_day = LocalDateField(_l("To"), validators=[Optional()])
    past = BooleanField(_l("Show past events too"))

    def validate_last_day(self, field) -> None:
        """The range must not run backwards."""
        if field.data and self.first_day.data and field.data < self.first_day.data:
            raise ValidationError(_l("The end date is before the start date."))


class ActiveForm(FlaskForm):
    """Cancel (0) or reinstate (1): the CSRF token and the wanted state."""

    active = HiddenField(validators=[AnyOf(["0", "1"])])
