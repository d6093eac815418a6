"""The door's answers as JSON (DESIGN §7): one shape for the API and for the stored replay.

A redeem's answer is stored with its attempt, so that a repeated nonce gets it again whole.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from app.cardcodes import format_number

if TYPE_CHECKING:
    from app.scan.service import DoorResult


def card_json(result: DoorResult) -> dict | None:
    """What the door may show of the card."""
    card = result.card
    if card is None:
        return None
    region = card.region
    return {"number": format_number(card.number), "region": region.code,
            "region_id": card.region_id, "region_names": region.names(),
            "period": region.period, "kind": card.kind, "children": card.children,
            "valid_until": card.valid_until.isoformat() if card.valid_until else None}


def earlier_json(result: DoorResult) -> dict | None:
    """When and where the card was used before, for already_used."""
    earlier = result.earlier_visit
    if earlier is None:
        return None
    return {"occurred_at": earlier.occurred_at.isoformat(), "here": earlier.here,
            "this_event": earlier.this_event, "venue_name": earlier.venue_name}


def verdict_json(result: DoorResult) -> dict:
    """The verdict as DESIGN §7 shapes it."""
    return {"verdict": "ok" if result.ok else "refused", "reason": result.reason,
            "card": card_json(result), "replaced_by": format_number(result.replaced_by)
            if result.replaced_by else None,
            "allowed": {"adults": result.allowed.adults, "children": result.allowed.children,
                        "assistants": result.allowed.assistants,
                        "persons": result.allowed.persons},
            "uses_in_period": result.uses_in_period, "places_left": result.places_left,
            "earlier_visit": earlier_json(result)}


def redeem_json(result: DoorResult) -> dict:
    """A redeem's answer: the verdict, and the visit when one was recorded."""
    answer = {**verdict_json(result), "visit_id": result.visit_id, "conflict": result.conflict}
    if result.visit_id is not None:
        answer["verdict"] = "ok"  # recorded (an offline record may carry a conflict)
    return answer
