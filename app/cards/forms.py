"""Forms of the issuer's screens. Labels and errors go through the translation layer."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional, Regexp, ValidationError

from app.cardcodes import normalise_number

GENDER_LABELS = {"female": _l("Female"), "male": _l("Male"), "other": _l("Other")}
LIFE_SITUATION_LABELS = {
    "employed": _l("Working"), "unemployed": _l("Unemployed"), "student": _l("Student"),
    "pensioner": _l("Pensioner"), "family_leave": _l("At home with children"),
    "rehabilitation": _l("In rehabilitation"), "other": _l("Other"),
}
KIND_LABELS = {"personal": _l("Personal card"), "community": _l("Community card (for a group)")}
DEACTIVATION_LABELS = {
    "holder_request": _l("The holder asked for it"),
    "no_longer_eligible": _l("No longer a client"),
    "misuse": _l("Misuse"), "other": _l("Other reason"),
}
REPLACEMENT_LABELS = {"lost": _l("Lost or stolen"), "damaged": _l("Damaged")}


class WholeNumberField(IntegerField):
    """An integer field whose "not a number" error says what to type."""

    def __init__(self, label=None, validators=None, not_a_number: str | None = None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.not_a_number = not_a_number

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata([v.strip() for v in valuelist])
        except ValueError:
            raise ValueError(self.not_a_number or _l("Enter a whole number.")) from None


def _choices(labels: dict, blank: str | None = None) -> list[SelectChoice]:
    options = [SelectChoice(value, label) for value, label in labels.items()]
    return [SelectChoice("", blank), *options] if blank is not None else options


class RegistrationForm(FlaskForm):
    """Register a card: a new number, or a pre-printed blank one typed or scanned."""

    preprinted_number = StringField(
        _l("Number of a pre-printed card (optional)"), validators=[Optional()],
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"})
    municipality = SelectField(_l("Home municipality"), coerce=int,
                               validators=[InputRequired(_l("Choose the home municipality."))])
    postcode = StringField(_l("Postcode"), validators=[
        DataRequired(_l("Enter the postcode.")),
        Regexp(r"^\d{5}$", message=_l("A postcode has five digits, e.g. 33100."))],
        render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 5})
    birth_year = WholeNumberField(_l("Year of birth"), validators=[
        InputRequired(_l("Enter the year of birth, e.g. 1985."))],
        not_a_number=_l("Enter the year of birth, e.g. 1985."),
        render_kw={"inputmode": "numeric", "autocomplete": "off"})
    children = WholeNumberField(_l("Own minor children or grandchildren in the household"), default=0,
                            not_a_number=_l("Enter a number, 0 if none."),
                            validators=[InputRequired(_l("Enter a number, 0 if none.")),
                                        NumberRange(0, 20, _l("Between 0 and 20."))],
                            render_kw={"inputmode": "numeric", "min": 0, "max": 20})
    kind = RadioField(_l("Card type"), choices=_choices(KIND_LABELS), default="personal",
                      validators=[InputRequired()])
    gender = SelectField(_l("Gender (voluntary)"),
                         choices=_choices(GENDER_LABELS, _l("Not given")), validators=[Optional()])
    life_situation = SelectField(_l("Life situation (voluntary)"),
                                 choices=_choices(LIFE_SITUATION_LABELS, _l("Not given")),
                                 validators=[Optional()])

    def validate_preprinted_number(self, field) -> None:
        """A typed number must be a well-formed card number (the service checks the rest)."""
        if field.data and normalise_number(field.data) is None:
            raise ValidationError(_l("This is not a card number. Check the characters and try again."))


class FindCardForm(FlaskForm):
    """Find a card by its number, typed or scanned."""

    class Meta:
        csrf = False  # a search changes nothing

    number = StringField(_l("Card number"), validators=[DataRequired(_l("Enter a card number."))],
                         render_kw={"autocomplete": "off", "autocapitalize": "characters",
                                    "spellcheck": "false", "autofocus": True})


class DeactivateForm(FlaskForm):
    """Deactivate a card, with a reason code (never free text)."""

    reason = SelectField(_l("Reason"), choices=_choices(DEACTIVATION_LABELS),
                         validators=[InputRequired()])


class ReplaceForm(FlaskForm):
    """Replace a card by a new number."""

    reason = RadioField(_l("Why is the card replaced?"), choices=_choices(REPLACEMENT_LABELS),
                        default="lost", validators=[InputRequired()])


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class BatchForm(FlaskForm):
    """Print a batch of blank numbered cards."""

    count = WholeNumberField(_l("Number of cards"), default=10,
                             not_a_number=_l("Enter how many cards to print."), validators=[
        InputRequired(_l("Enter how many cards to print.")),
        NumberRange(1, 500, _l("Between 1 and 500 at a time."))],
        render_kw={"inputmode": "numeric", "min": 1, "max": 500})
