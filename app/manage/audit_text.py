"""The audit trail in words: each event's action, object and details in the page's language."""
from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from app.audit_labels import (
    ACTION_LABELS,
    DATES,
    DETAIL_LABELS,
    DETAIL_LABELS_BY_OBJECT,
    FIELD_LISTS,
    NO,
    NONE_LABELS,
    OBJECT_TYPE_LABELS,
    REFERENCES,
    YES,
    value_labels,
)
from app.cardcodes import format_number, is_valid_number
from app.i18n import local_date_text, local_datetime_text
from app.manage.audit_service import detail_ids
from app.models import AuditEvent

_ORDER = {key: n for n, key in enumerate(DETAIL_LABELS)}


def action_label(code: str) -> str:
    """The translated name of an action code; the code itself when it has none."""
    label = ACTION_LABELS.get(code)
    return str(label) if label is not None else code


def object_label(object_type: str) -> str:
    """The translated name of an object type; the table name when it has none."""
    label = OBJECT_TYPE_LABELS.get(object_type)
    return str(label) if label is not None else object_type


def detail_label(object_type: str, key: str) -> str:
    """The translated name of a detail key (or of a field a "changed" detail lists)."""
    label = DETAIL_LABELS_BY_OBJECT.get((object_type, key)) or DETAIL_LABELS.get(key)
    return str(label) if label is not None else key


class AuditWords:
    """Words for the events of one page (or CSV chunk), from names looked up once for all."""

    def __init__(self, names: dict[tuple[str, int], object], lang: str) -> None:
        self.names = names
        self.lang = lang

    def name(self, object_type: str, object_id: int) -> str:
        """A card's grouped number, a place's or account's name, an event's title and time."""
        found = self.names.get((object_type, object_id))
        if found is None:
            return _("(no longer in the register)")
        if object_type in ("cards", "visits"):
            return format_number(found) if is_valid_number(found) else str(found)
        if object_type == "regions":
            return found.name(self.lang)
        if object_type == "events":
            return f"{found.title}, {local_datetime_text(found.starts_at)}"
        return str(found)

    def object_text(self, event: AuditEvent) -> str:
        """What the event is about: "Card 7KQD-3MZ-P3X", "Venue: Tampere Hall"."""
        label, name = self.object_parts(event)
        return f"{label} {name}" if name else label

    def object_parts(self, event: AuditEvent) -> tuple[str, str]:
        """The object as a lead ("Card", "Venue:", "Visit, card") and its name or number."""
        label = object_label(event.object_type)
        if event.object_id is None:
            return label, ""
        name = self.name(event.object_type, event.object_id)
        if event.object_type == "cards":
            return label, name
        if event.object_type == "visits":
            return _("%(object)s, card", object=label), name
        return f"{label}:", name

    def details(self, event: AuditEvent) -> list[tuple[str, str, bool]]:
        """Each detail as (label, value, whether the value is a card number) in words."""
        items = sorted((event.details or {}).items(), key=lambda kv: (_ORDER.get(kv[0], 999), kv[0]))
        return [(detail_label(event.object_type, key), self.value(event.object_type, key, value),
                 REFERENCES.get(key) == "cards") for key, value in items]

    def details_text(self, event: AuditEvent) -> str:
        """The details on one line: "Reason: Misuse, New card: 7KQD-3MZ-P3X"."""
        return ", ".join(f"{label}: {value}" for label, value, _card in self.details(event))

    def value(self, object_type: str, key: str, value) -> str:
        """One detail's value in words."""
        if value is None or value in ("", []):
            return str(NONE_LABELS.get(key, "–"))
        if key in FIELD_LISTS:
            fields = value if isinstance(value, list) else str(value).split(",")
            return ", ".join(detail_label(object_type, f.strip()) for f in fields if f.strip())
        if key in REFERENCES:
            return ", ".join(self.name(REFERENCES[key], i) for i in detail_ids(value)) or "–"
        if key in DATES:
            return _date(value)
        labels = value_labels().get((object_type, key)) or value_labels().get((None, key))
        if labels is not None and not isinstance(value, list) and value in labels:
            return str(labels[value])
        if isinstance(value, bool):
            return str(YES if value else NO)
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def _date(value) -> str:
    try:
        return local_date_text(date.fromisoformat(str(value)))
    except ValueError:
        return str(value)
