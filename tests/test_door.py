"""The door service: check and redeem, attempts stored, nonces, and races (DESIGN §4, §6)."""
from __future__ import annotations

import dataclasses
import threading
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app import rules
from app.cardcodes import format_number, raw_code_hash
from app.cards.service import qr_payload
from app.extensions import db
from app.models import ScanAttempt, Visit
from app.scan.service import DoorError, DoorRequest, DoorResult, annul, check, redeem
from tests.support import factories


def ask(world, card_or_code, venue=None, event=None, tickets=None, nonce=None, source="camera"):
    """A door request for a card (by its number) or a raw code."""
    code = card_or_code if isinstance(card_or_code, str) else card_or_code.number
    venue = venue or world.theatre
    return DoorRequest(code=code, venue_id=venue.id, event_id=event.id if event else None,
                       tickets=tickets or rules.Tickets(), nonce=nonce or str(uuid.uuid4()),
                       source=source)


def visits() -> list[Visit]:
    """Every visit in the database."""
    return list(db.session.scalars(sa.select(Visit)))


def attempts() -> list[ScanAttempt]:
    """Every stored scan attempt."""
    return list(db.session.scalars(sa.select(ScanAttempt).order_by(ScanAttempt.id)))


@pytest.fixture
def box(world):
    """The box-office account of region A."""
    return world.users["boxoffice"]


def test_check_says_ok_and_stores_the_attempt_but_no_visit(world, box):
    card = factories.card(world.a, children=2)
    db.session.commit()
    result = check(box, ask(world, card, event=world.show))
    assert result.reason == "ok"
    assert result.allowed == rules.Allowed(adults=1, children=2, assistants=1)
    assert visits() == []
    [attempt] = attempts()
    assert (attempt.action, attempt.card_number, attempt.reason) == ("check", card.number, "ok")


def test_redeem_records_one_visit_with_the_tickets_asked(world, box):
    card = factories.card(world.a, children=2)
    db.session.commit()
    tickets = rules.Tickets(adults=1, children=2, assistants=1)
    result = redeem(box, ask(world, card, event=world.show, tickets=tickets))
    [visit] = visits()
    assert result.ok and result.visit_id == visit.id
    assert (visit.adults, visit.children, visit.assistants, visit.persons) == (1, 2, 1, 4)
    assert (visit.category, visit.source, visit.status) == ("culture", "camera", "ok")
    assert attempts()[0].visit_id == visit.id


def test_the_same_nonce_again_gives_the_same_answer_and_no_second_visit(world, box):
    card = factories.card(world.a)
    db.session.commit()
    request = ask(world, card, event=world.show)
    first, again = redeem(box, request), redeem(box, request)
    assert (first.reason, first.visit_id) == (again.reason, again.visit_id) == ("ok", first.visit_id)
    assert len(visits()) == 1
    assert len(attempts()) == 1


def test_a_refused_nonce_is_answered_the_same_even_after_the_card_would_pass(world, box):
    card = factories.card(world.a, status="deactivated")
    db.session.commit()
    request = ask(world, card)
    assert redeem(box, request).reason == "deactivated"
    card.status = "active"
    db.session.commit()
    assert redeem(box, request).reason == "deactivated"
    assert visits() == []


def test_a_nonce_used_by_another_account_is_refused(world, box):
    card = factories.card(world.a)
    db.session.commit()
    request = ask(world, card)
    redeem(box, request)
    with pytest.raises(DoorError) as exc:
        redeem(world.users["coordinator"], request)
    assert (exc.value.code, exc.value.status) == ("nonce_reused", 409)


def test_a_second_redeem_for_the_same_event_is_already_used(world, box):
    card = factories.card(world.a)
    db.session.commit()
    assert redeem(box, ask(world, card, event=world.show)).ok
    second = redeem(box, ask(world, card, event=world.show))
    assert second.reason == "already_used" and second.visit_id is None
    assert len(visits()) == 1
    assert [a.reason for a in attempts()] == ["ok", "already_used"]


def test_an_annulled_visit_does_not_block_a_new_one(world, box):
    card = factories.card(world.a)
    db.session.commit()
    redeem(box, ask(world, card, event=world.show))
    visits()[0].status = "annulled"
    db.session.commit()
    assert redeem(box, ask(world, card, event=world.show)).ok


def test_an_unknown_code_is_stored_as_a_hash_not_as_typed(world, box):
    result = check(box, ask(world, "not a card at all"))
    assert result.reason == "unknown_card" and result.card is None
    assert result.allowed == rules.Allowed(0, 0, 0)
    [attempt] = attempts()
    assert attempt.card_number is None
    assert attempt.code_hash == raw_code_hash("not a card at all")


def test_a_well_formed_number_that_no_card_has_is_unknown(world, box):
    card = factories.card(world.a)
    db.session.commit()
    number = card.number
    db.session.delete(card)
    db.session.commit()
    assert check(box, ask(world, format_number(number))).reason == "unknown_card"


def test_a_qr_payload_checks_like_the_number_and_a_typed_grouped_number_too(world, box):
    card = factories.card(world.a, children=1)
    db.session.commit()
    assert check(box, ask(world, qr_payload(card))).reason == "ok"
    assert check(box, ask(world, format_number(card.number).lower())).reason == "ok"


def test_a_tampered_payload_is_bad_signature_and_records_no_visit(world, box):
    card = factories.card(world.a)
    db.session.commit()
    payload = qr_payload(card)
    position = len(payload) - 5
    tampered = payload[:position] + ("A" if payload[position] != "A" else "B") + payload[position + 1:]
    assert redeem(box, ask(world, tampered)).reason == "bad_signature"
    assert visits() == []
    assert attempts()[0].reason == "bad_signature"


def test_the_database_wins_over_what_the_printed_code_says(world, box):
    card = factories.card(world.a, children=3)
    db.session.commit()
    printed = qr_payload(card)
    card.children = 1
    db.session.commit()
    result = check(box, ask(world, printed, tickets=rules.Tickets(children=2)))
    assert result.reason == "too_many_children"
    assert result.allowed.children == 1


def test_a_replaced_card_names_its_successor(world, box):
    new = factories.card(world.a)
    old = factories.card(world.a, status="replaced")
    old.replaced_by = new
    db.session.commit()
    result = check(box, ask(world, old))
    assert (result.reason, result.replaced_by) == ("replaced", new.number)


def test_a_card_of_a_local_only_region_is_refused_elsewhere(world, box):
    card = factories.card(world.b)
    db.session.commit()
    assert check(box, ask(world, card)).reason == "wrong_region"


def test_a_course_takes_no_child_tickets(world, box):
    card = factories.card(world.a, children=2)
    db.session.commit()
    result = check(box, ask(world, card, venue=world.college, event=world.course,
                            tickets=rules.Tickets(children=1)))
    assert result.reason == "no_children_for_courses"


def test_the_event_quota_counts_persons_already_recorded(world, box):
    first, second = factories.card(world.a, children=4), factories.card(world.a, children=4)
    db.session.commit()
    five = rules.Tickets(adults=1, children=4)
    assert redeem(box, ask(world, first, event=world.small_show, tickets=five)).ok
    six = rules.Tickets(adults=1, children=4, assistants=1)
    over = redeem(box, ask(world, second, event=world.small_show, tickets=six))
    assert (over.reason, over.places_left, over.allowed.persons) == ("too_few_places", 5, 5)
    assert redeem(box, ask(world, second, event=world.small_show, tickets=five)).ok
    third = factories.card(world.a)
    db.session.commit()
    full = check(box, ask(world, third, event=world.small_show))
    assert (full.reason, full.places_left, full.allowed.persons) == ("event_full", 0, 0)


def test_already_used_names_the_earlier_visit_and_its_venue(world, box):
    card = factories.card(world.a)
    db.session.commit()
    redeem(box, ask(world, card))
    again = check(box, ask(world, card))
    assert again.reason == "already_used"
    earlier = again.earlier_visit
    assert (earlier.here, earlier.this_event, earlier.venue_name) == (True, False, world.theatre.name)
    assert earlier.occurred_at == visits()[0].occurred_at


def test_the_period_limit_counts_this_months_uses(world, box):
    world.a.period_limit = 1
    card = factories.card(world.a)
    db.session.commit()
    assert redeem(box, ask(world, card, event=world.show)).ok
    result = redeem(box, ask(world, card, event=world.small_show))
    assert (result.reason, result.uses_in_period) == ("period_limit", 1)


def test_an_expired_card_is_refused(world, box, today):
    card = factories.card(world.a, valid_until=today - timedelta(days=1))
    db.session.commit()
    assert redeem(box, ask(world, card)).reason == "expired"


@pytest.mark.parametrize("account, allowed", [
    ("boxoffice", True), ("coordinator", True), ("admin", True),
    ("boxoffice_b", False), ("coordinator_b", False), ("issuer", False),
])
def test_only_accounts_of_the_venue_may_scan_there(world, account, allowed):
    card = factories.card(world.a)
    db.session.commit()
    if allowed:
        assert check(world.users[account], ask(world, card)).ok
        return
    with pytest.raises(DoorError) as exc:
        check(world.users[account], ask(world, card))
    assert (exc.value.code, exc.value.status) == ("venue_not_allowed", 403)
    assert attempts() == []


@pytest.mark.parametrize("change, code", [
    ({"nonce": "not-a-uuid"}, "invalid_nonce"),
    ({"source": "telepathy"}, "invalid_source"),
    ({"tickets": rules.Tickets(adults=2)}, "invalid_tickets"),
    ({"tickets": rules.Tickets(adults=0, children=0, assistants=0)}, "invalid_tickets"),
    ({"venue_id": 999_999}, "unknown_venue"),
    ({"event_id": "course"}, "unknown_event"),
])
def test_a_malformed_redeem_is_refused_with_a_reason_code_and_leaves_nothing(world, box,
                                                                              change, code):
    card = factories.card(world.a)
    db.session.commit()
    request = ask(world, card, event=world.show)
    if change.get("event_id") == "course":  # an event of another venue
        change = {"event_id": world.course.id}
    with pytest.raises(DoorError) as exc:
        redeem(box, dataclasses.replace(request, **change))
    assert exc.value.code == code
    db.session.rollback()
    assert visits() == [] and attempts() == []


# Offline records the rules refuse (issue 12, point 3)

POISONED = 4  # records a box office syncs of one card, and the card's period limit


def synced(user, world, card, venue=None, event=None, minutes_ago: int = 1,
           tickets=None) -> DoorResult:
    """An offline record of a typed, unverified number, as POST /api/scan/sync hands it over."""
    venue = venue or world.theatre
    return redeem(user, DoorRequest(
        code=card.number, venue_id=venue.id, event_id=event.id if event else None,
        tickets=tickets or rules.Tickets(), nonce=str(uuid.uuid4()),
        occurred_at=datetime.now(UTC) - timedelta(minutes=minutes_ago), source="offline",
        verified=False), offline=True)


@pytest.fixture
def national(world):
    """A third region in the national network, with a limit of POISONED uses a month, a
    museum and its box office: region A's theatre accepts its cards."""
    region = factories.region("CCC", national=True, period_limit=POISONED)
    museum = factories.venue(region, "Museo C", "culture", "museum")
    box_c = factories.user("box-c", "boxoffice", region=region, venues=[museum])
    db.session.commit()
    return region, museum, box_c


def home_door(user, card, venue) -> DoorResult:
    """What the card's own region's box office is told at its venue."""
    return check(user, DoorRequest(code=card.number, venue_id=venue.id))


def test_offline_records_of_a_card_the_venue_cannot_accept_are_refused_and_do_not_poison_it(
        world, box):
    world.b.period_limit = POISONED
    card = factories.card(world.b)  # region B is local-only: the theatre of A never takes it
    db.session.commit()
    answers = [synced(box, world, card, minutes_ago=n) for n in range(1, POISONED + 1)]
    assert [(a.reason, a.visit_id, a.conflict) for a in answers] == \
        [("wrong_region", None, None)] * POISONED
    assert visits() == []
    assert [(a.reason, a.card_number, a.visit_id) for a in attempts()] == \
        [("wrong_region", card.number, None)] * POISONED
    home = home_door(world.users["boxoffice_b"], card, world.hall_b)
    assert (home.reason, home.uses_in_period) == ("ok", 0)


@pytest.mark.parametrize("change", [{"status": "lost"}, {"valid_until": date(2020, 1, 1)},
                                    {"venue_inactive": True}])
def test_a_card_the_venue_cannot_accept_is_refused_offline_whatever_else_is_wrong(
        world, box, change):
    if change.pop("venue_inactive", False):
        world.theatre.active = False
    card = factories.card(world.b, **change)
    db.session.commit()
    answer = synced(box, world, card)
    assert (answer.reason, answer.visit_id) == ("wrong_region", None)
    assert visits() == []


def test_an_offline_record_the_rules_refuse_counts_towards_no_limit_until_it_is_kept(
        world, box, national):
    from app.manage.conflicts_service import resolve
    region, museum, box_c = national
    card = factories.card(region)
    db.session.commit()
    answers = [synced(box, world, card, event=world.show, minutes_ago=n)
               for n in range(1, POISONED + 1)]
    assert [a.conflict for a in answers] == [None] + ["already_used"] * (POISONED - 1)
    home = home_door(box_c, card, museum)
    assert (home.reason, home.uses_in_period) == ("ok", 1)
    for flagged in answers[1:]:
        resolve(world.users["coordinator"], flagged.visit_id, "keep")
    home = home_door(box_c, card, museum)
    assert (home.reason, home.uses_in_period) == ("period_limit", POISONED)


def test_a_flagged_offline_record_does_not_make_the_card_already_used(world, box):
    card = factories.card(world.a)  # no children on the card
    db.session.commit()
    flagged = synced(box, world, card, event=world.show,
                     tickets=rules.Tickets(adults=1, children=2))
    assert flagged.conflict == "too_many_children"
    assert redeem(box, ask(world, card, event=world.show)).reason == "ok"


def test_a_flagged_offline_record_takes_no_place_of_the_event_until_kept_and_none_once_annulled(
        world, box, today):
    from app.manage.conflicts_service import resolve
    expired = factories.card(world.a, valid_until=today - timedelta(days=30))
    other, later = factories.card(world.a), factories.card(world.a)
    db.session.commit()
    flagged = synced(box, world, expired, event=world.small_show,
                     tickets=rules.Tickets(adults=1, assistants=1))
    assert flagged.conflict == "expired"
    assert check(box, ask(world, other, event=world.small_show)).places_left == 10
    resolve(world.users["coordinator"], flagged.visit_id, "keep")
    assert check(box, ask(world, other, event=world.small_show)).places_left == 8
    assert synced(box, world, later, event=world.small_show).conflict is None
    annul(box, flagged.visit_id, "mistake")  # kept, then undone: no longer counts
    assert check(box, ask(world, other, event=world.small_show)).places_left == 9


def _race(app, n: int, work) -> list:
    """Run work(i) in n threads at once, each with its own app context and session."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                results[i] = work(i)
            except Exception as exc:
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_twenty_threads_redeeming_one_card_for_one_event_record_exactly_one_visit(app, world):
    card = factories.card(world.a)
    db.session.commit()
    number, user_id, venue_id, event_id = card.number, world.users["boxoffice"].id, \
        world.theatre.id, world.show.id

    def work(_i: int) -> str:
        from app.models import User
        user = db.session.get(User, user_id)
        return redeem(user, DoorRequest(code=number, venue_id=venue_id, event_id=event_id,
                                        nonce=str(uuid.uuid4()), source="camera")).reason

    results = _race(app, 20, work)
    assert sorted(results) == ["already_used"] * 19 + ["ok"]
    db.session.rollback()  # end this thread's read snapshot
    assert len(visits()) == 1
    assert len(attempts()) == 20


def test_fifty_cards_racing_for_a_quota_of_ten_persons_never_exceed_it(app, world):
    cards = [factories.card(world.a, children=1) for _ in range(50)]
    db.session.commit()
    numbers = [c.number for c in cards]
    user_id, venue_id, event_id = world.users["boxoffice"].id, world.theatre.id, world.small_show.id

    def work(i: int) -> str:
        from app.models import User
        user = db.session.get(User, user_id)
        tickets = rules.Tickets(adults=1, children=1)  # two persons each
        return redeem(user, DoorRequest(code=numbers[i], venue_id=venue_id, event_id=event_id,
                                        tickets=tickets, nonce=str(uuid.uuid4()),
                                        source="camera")).reason

    results = _race(app, 50, work)
    assert set(results) <= {"ok", "event_full"}, results
    db.session.rollback()  # end this thread's read snapshot
    assert sum(v.persons for v in visits()) == 10
    assert results.count("ok") == len(visits()) == 5
