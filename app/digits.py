"""Numbers typed into forms: the digits 0-9 only.

str.isdigit(), int(), and the date and time parsing of WTForms (strptime) also take other
scripts' digits (٣٣١٠٠, ３３１００): such a postcode was stored as typed. Every field that reads a
number, a date or a time from a form goes through this module.
"""
from __future__ import annotations


def ascii_digits(text: str) -> bool:
    """Whether `text` is digits 0-9 only: str.isdigit() and int() also take ٣, ３ or ³."""
    return text.isascii() and text.isdigit()


def refuse_foreign_digits(valuelist: list[str]) -> None:
    """A ValueError (the field's "not a number") for a digit other than 0-9 in typed input."""
    if any(ch.isdigit() and not ch.isascii() for value in valuelist for ch in str(value)):
        raise ValueError("digits other than 0-9")


def ascii_int(value: object) -> int:
    """int() of a form value, for digits 0-9 only (a select's `coerce`)."""
    refuse_foreign_digits([value])
    return int(value)


class AsciiDigitsField:
    """Mixin for WTForms fields that parse numbers, dates or times: only the digits 0-9."""

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            refuse_foreign_digits(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(getattr(self, "invalid_value_message", None)
                             or self.gettext("Not a valid value.")) from None
        super().process_formdata(valuelist)
