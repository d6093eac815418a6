"""The audit trail in words: the one table of action, detail and value labels (fi, sv, en).

Every action code `app.audit.record` may write has a label here; it refuses any other.
A detail is a key and a code, number, flag, date or id; each key has a label, each code of a
vocabulary a label, and ids are named by a lookup (cards by their grouped number).
"""
from __future__ import annotations

from functools import cache

from flask_babel import lazy_gettext as _l

ACTION_LABELS = {
    "card.register": _l("Card registered"),
    "card.renew": _l("Card renewed"),
    "card.replace": _l("Card replaced"),
    "card.deactivate": _l("Card deactivated"),
    "card.undo_deactivate": _l("Card's deactivation undone"),
    "card.new_link": _l("New digital-card link"),
    "card.blank_batch": _l("Blank cards printed"),
    "cards.purge": _l("Expired cards deleted"),
    "visit.annul": _l("Record undone at the door"),
    "visit.conflict_keep": _l("Offline conflict: record kept"),
    "visit.conflict_annul": _l("Offline conflict: record annulled"),
    "region.create": _l("Region added"),
    "region.update": _l("Region changed"),
    "region.rules": _l("Region's rules changed"),
    "region.deactivate": _l("Region deactivated"),
    "region.reactivate": _l("Region reactivated"),
    "municipality.create": _l("Municipality added"),
    "municipality.update": _l("Municipality changed"),
    "municipality.deactivate": _l("Municipality deactivated"),
    "municipality.reactivate": _l("Municipality reactivated"),
    "site.create": _l("Issuing site added"),
    "site.update": _l("Issuing site changed"),
    "site.deactivate": _l("Issuing site deactivated"),
    "site.reactivate": _l("Issuing site reactivated"),
    "venue.create": _l("Venue added"),
    "venue.update": _l("Venue changed"),
    "venue.deactivate": _l("Venue deactivated"),
    "venue.reactivate": _l("Venue reactivated"),
    "event.create": _l("Event added"),
    "event.update": _l("Event changed"),
    "event.cancel": _l("Event cancelled"),
    "event.reinstate": _l("Event reinstated"),
    "user.create": _l("Staff account added"),
    "user.update": _l("Staff account changed"),
    "user.password_reset": _l("Password reset"),
    "user.deactivate": _l("Staff account deactivated"),
    "user.reactivate": _l("Staff account reactivated"),
    "user.devices_end": _l("Signed-in devices of a staff account ended"),
}
OBJECT_TYPE_LABELS = {
    "cards": _l("Card"),
    "visits": _l("Visit"),
    "regions": _l("Region"),
    "municipalities": _l("Municipality"),
    "issuing_sites": _l("Issuing site"),
    "venues": _l("Venue"),
    "events": _l("Event"),
    "users": _l("Staff account"),
}
# Why the server would have refused an offline record (the rule function's reason codes).
CONFLICT_LABELS = {
    "not_issued": _l("The card had not been registered."),
    "deactivated": _l("The card had been deactivated."),
    "lost": _l("The card had been reported lost."),
    "replaced": _l("The card had been replaced by a new card."),
    "expired": _l("The card had expired."),
    "wrong_region": _l("The card is not valid in this region."),
    "already_used": _l("The card had already been used for this event, or that day at this venue."),
    "event_full": _l("The event's Kaikukortti places had run out."),
    "too_few_places": _l("The event had fewer Kaikukortti places left than persons recorded."),
    "too_many_children": _l("Too many children or assistants for this card."),
    "no_children_for_courses": _l("Child tickets were recorded for a course."),
    "period_limit": _l("The card's uses for the period were already used up."),
    "venue_inactive": _l("The venue was not taking part in Kaikukortti."),
}
ANNUL_REASON_LABELS = {
    "conflict": _l("Conflicting offline records"),
    "mistake": _l("Recorded by mistake"),
    "wrong_card": _l("Wrong card"),
    "wrong_tickets": _l("Wrong tickets"),
    "other": _l("Other reason"),
}
# The label of each detail key, and of each field name a "changed" detail lists.
DETAIL_LABELS = {
    "preprinted": _l("Preprinted card"),
    "valid_until": _l("Valid until"),
    "reason": _l("Reason"),
    "new_card_id": _l("New card"),
    "count": _l("Number of cards"),
    "last_card_id": _l("Last card"),
    "cutoff": _l("Validity ended before"),
    "cards": _l("Cards deleted"),
    "visits": _l("Uses kept without their card"),
    "conflict": _l("Why flagged"),
    "role": _l("Role"),
    "username": _l("Username"),
    "region_id": _l("Region"),
    "site_id": _l("Issuing site"),
    "issuing_site_id": _l("Issuing site"),
    "venue_ids": _l("Venues"),
    "venues": _l("Venues"),
    "generated_password": _l("Password made by the service"),
    "unlocked": _l("Login lock lifted"),
    "devices_ended": _l("Signed-in devices ended"),
    "changed": _l("Changed"),
    "venue_id": _l("Venue"),
    "title": _l("Title"),
    "starts_at": _l("Start time"),
    "kind": _l("Type"),
    "quota": _l("Kaikukortti quota (persons)"),
    "series_first_id": _l("First event of the series"),
    "series_count": _l("Events in the series"),
    "code": _l("Code"),
    "name": _l("Name"),
    "name_fi": _l("Name in Finnish"),
    "name_sv": _l("Name in Swedish"),
    "name_en": _l("Name in English"),
    "min_age": _l("Minimum age of a holder"),
    "child_max_age": _l("Children count up to the age of"),
    "national_network": _l("Where cards are valid"),
    "validity": _l("Cards are valid"),
    "validity_months": _l("Months of validity"),
    "period_limit": _l("Uses at most"),
    "period": _l("Period of the limit"),
    "community_group_size": _l("Community card group size"),
    "category": _l("Category"),
    "art_form": _l("Art form"),
    "default_quota": _l("Default Kaikukortti quota per event"),
}
# A key whose label depends on the kind of object the event is about.
DETAIL_LABELS_BY_OBJECT = {("issuing_sites", "kind"): _l("Kind of service")}
EVENT_KIND_LABELS = {"event": _l("Event"), "course": _l("Course")}
NETWORK_LABELS = {True: _l("In the national network"), False: _l("Local only")}
# What an empty value means, where it means something.
NONE_LABELS = {"period_limit": _l("no limit"), "default_quota": _l("no quota"),
               "quota": _l("no quota")}
# Keys whose value is the id of an object (or ids, comma-separated), shown by its name.
REFERENCES = {"new_card_id": "cards", "last_card_id": "cards", "site_id": "issuing_sites",
              "issuing_site_id": "issuing_sites", "venue_id": "venues", "venue_ids": "venues",
              "series_first_id": "events", "region_id": "regions"}
DATES = frozenset({"valid_until", "cutoff"})
FIELD_LISTS = frozenset({"changed"})
YES, NO = _l("yes"), _l("no")


@cache
def value_labels() -> dict[tuple[str | None, str], dict]:
    """The labels of each vocabulary key's codes; (object type, key) first, then (None, key)."""
    # Imported here: the forms' packages import the services, which import app.audit.
    from app.cards.forms import DEACTIVATION_LABELS, REPLACEMENT_LABELS
    from app.i18n import ROLE_NAMES
    from app.manage.places_forms import (
        ART_FORM_LABELS,
        CATEGORY_LABELS,
        PERIOD_LABELS,
        SITE_KIND_LABELS,
        VALIDITY_LABELS,
    )
    return {
        (None, "reason"): {**ANNUL_REASON_LABELS, **DEACTIVATION_LABELS, **REPLACEMENT_LABELS},
        (None, "conflict"): CONFLICT_LABELS, (None, "role"): ROLE_NAMES,
        (None, "validity"): VALIDITY_LABELS, (None, "period"): PERIOD_LABELS,
        (None, "category"): CATEGORY_LABELS, (None, "art_form"): ART_FORM_LABELS,
        (None, "national_network"): NETWORK_LABELS,
        ("issuing_sites", "kind"): SITE_KIND_LABELS, ("events", "kind"): EVENT_KIND_LABELS,
    }
