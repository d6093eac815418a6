"""Forms of the issuer's screens. Labels and errors go through the translation layer."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from app import rules
from app.cardcodes import normalise_number
from app.digits import AsciiDigitsField, ascii_int
from app.printing.cards import CARDS_PER_SHEET, SHEET_COLUMNS

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


class WholeNumberField(AsciiDigitsField, IntegerField):
    """An integer field whose "not a number" error says what to type."""

    def __init__(self, label=None, validators=None, not_a_number: str | None = None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.not_a_number = not_a_number

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata([v.strip() for v in valuelist])
        except ValueError:
            raise ValueError(self.not_a_number or _l("Enter a whole number.")) from None


CHOOSE = _l("Choose…")
NOT_GIVEN = "not_given"  # an answer the holder chose not to give; saved as unknown


def _choices(labels: dict, blank: str | None = None) -> list[SelectChoice]:
    options = [SelectChoice(value, label) for value, label in labels.items()]
    return [SelectChoice("", blank), *options] if blank is not None else options


def _optional_int(value) -> int | None:
    return None if value in ("", None) else ascii_int(value)


def required_choice(labels: dict, message) -> list:
    """Validators of a choice that has no default: empty is an error, an unknown value too."""
    return [InputRequired(message), AnyOf(list(labels), message=message)]


class RegistrationForm(FlaskForm):
    """Register a card: a new number, or a pre-printed blank one typed or scanned.

    Every choice that feeds the statistics starts empty and must be made, so no answer is
    saved that nobody gave. Each field checks itself, so every error shows at once; the
    view sets `latest_birth_year` and `municipality.choices` for the issuer's region.
    """

    latest_birth_year: int = rules.EARLIEST_BIRTH_YEAR
    min_age: int = 0

    preprinted_number = StringField(
        _l("Number of a pre-printed card (optional)"), validators=[Optional()],
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"})
    municipality = SelectField(_l("Home municipality"), coerce=_optional_int, validate_choice=False,
                               validators=[InputRequired(_l("Choose the home municipality."))])
    postcode = StringField(_l("Postcode"), validators=[
        DataRequired(_l("Enter the postcode.")),
        Regexp(r"^\s*[0-9]{5}\s*$", message=_l("A postcode has five digits, e.g. 33100."))],
        render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 5})
    birth_year = WholeNumberField(_l("Year of birth"), validators=[
        InputRequired(_l("Enter the year of birth, e.g. 1985."))],
        not_a_number=_l("Enter the year of birth, e.g. 1985."),
        render_kw={"inputmode": "numeric", "autocomplete": "off"})
    children = WholeNumberField(_l("Own minor children or grandchildren in the household"),
                                not_a_number=_l("Enter a number, 0 if none."),
                                validators=[InputRequired(_l("Enter a number, 0 if none."))],
                                render_kw={"inputmode": "numeric", "min": 0,
                                           "max": rules.MAX_CARD_CHILDREN})
    kind = RadioField(_l("Card type"), choices=_choices(KIND_LABELS), validate_choice=False,
                      validators=required_choice(KIND_LABELS, _l("Choose the card type.")))
    gender = SelectField(_l("Gender (voluntary)"), validate_choice=False,
                         choices=_choices({**GENDER_LABELS, NOT_GIVEN: _l("Prefers not to say")}, CHOOSE),
                         validators=required_choice({**GENDER_LABELS, NOT_GIVEN: ""}, _l(
                             "Choose an answer, or “Prefers not to say”.")))
    life_situation = SelectField(
        _l("Life situation (voluntary)"), validate_choice=False,
        choices=_choices({**LIFE_SITUATION_LABELS, NOT_GIVEN: _l("Prefers not to say")}, CHOOSE),
        validators=required_choice({**LIFE_SITUATION_LABELS, NOT_GIVEN: ""}, _l(
            "Choose an answer, or “Prefers not to say”.")))

    def validate_municipality(self, field) -> None:
        """Only a municipality of the issuer's region (the choices the view gave)."""
        if field.data not in [choice.value for choice in field.choices if choice.value != ""]:
            raise ValidationError(_l("Choose a municipality of your region."))

    def validate_birth_year(self, field) -> None:
        """Old enough for a card, and a year a living person was born in."""
        if field.data is not None and not rules.EARLIEST_BIRTH_YEAR <= field.data <= self.latest_birth_year:
            raise ValidationError(birth_year_range_message(self.latest_birth_year, self.min_age))

    def validate_children(self, field) -> None:
        """Between none and the most a card can carry."""
        if field.data is not None and not 0 <= field.data <= rules.MAX_CARD_CHILDREN:
            raise ValidationError(children_range_message())

    def validate_preprinted_number(self, field) -> None:
        """A typed number must be a well-formed card number (the service checks the rest)."""
        if field.data and normalise_number(field.data) is None:
            raise ValidationError(_l("This is not a card number. Check the characters and try again."))

    def voluntary(self, field) -> str | None:
        """A voluntary answer as saved: None when the holder did not give one."""
        value = getattr(self, field).data
        return None if value in ("", NOT_GIVEN) else value


def birth_year_range_message(latest: int, min_age: int) -> str:
    """What a year of birth out of range should say: the years that are allowed, and why."""
    return _l("The year of birth must be %(first)s–%(last)s: the card is for people aged "
              "%(age)s or over.", first=rules.EARLIEST_BIRTH_YEAR, last=latest, age=min_age)


def children_range_message() -> str:
    """What a number of children out of range should say."""
    return _l("Enter a number from 0 to %(most)s.", most=rules.MAX_CARD_CHILDREN)


class FindCardForm(FlaskForm):
    """Find a card by its number, typed or scanned."""

    class Meta:
        csrf = False  # a search changes nothing

    number = StringField(_l("Card number"), validators=[DataRequired(_l("Enter a card number."))],
                         render_kw={"autocomplete": "off", "autocapitalize": "characters",
                                    "spellcheck": "false", "autofocus": True})


class DeactivateForm(FlaskForm):
    """Deactivate a card, with a reason code (never free text) that must be chosen."""

    reason = RadioField(_l("Why is the card deactivated?"), choices=_choices(DEACTIVATION_LABELS),
                        validate_choice=False, validators=required_choice(
                            DEACTIVATION_LABELS, _l("Choose why the card is deactivated.")))


SLOT_SIDES = (_l("left"), _l("right"))


class SheetSlotForm(FlaskForm):
    """Where on a sheet of pre-cut card stock one card is printed (a sheet may be half used)."""

    class Meta:
        csrf = False  # it only shapes a download

    slot = SelectField(_l("Place on the sheet"), coerce=ascii_int, default=1, choices=[
        SelectChoice(slot, _l("%(slot)s (row %(row)s, %(side)s)", slot=slot,
                              row=(slot - 1) // SHEET_COLUMNS + 1,
                              side=SLOT_SIDES[(slot - 1) % SHEET_COLUMNS]))
        for slot in range(1, CARDS_PER_SHEET + 1)])


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
