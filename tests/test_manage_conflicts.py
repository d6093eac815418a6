"""The offline conflict queue (issue "Management"): who sees what, keep, annul, audit."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app import audit
from app.cardcodes import format_number
from app.extensions import db
from app.manage import conflicts_service
from app.models import AuditEvent, User, Visit
from app.rules import TZ
from app.scan.service import DoorRequest, redeem
from tests.conftest import csrf_token
from tests.support import factories
from tests.support.queries import statements_sent


def offline_record(user, card, venue, event=None, at: datetime | None = None) -> Visit:
    """A record a scanner made without a network, as the sync hands it to the door."""
    result = redeem(user, DoorRequest(
        code=card.number, venue_id=venue.id, event_id=event.id if event else None,
        nonce=str(uuid.uuid4()), occurred_at=at or datetime.now(UTC), source="offline"),
        offline=True)
    return db.session.get(Visit, result.visit_id)


@pytest.fixture
def clash(world) -> tuple[Visit, Visit]:
    """Two devices admitted one region-A card to one show: the second record is flagged."""
    card = factories.card(world.a)
    db.session.commit()
    box = world.users["boxoffice"]
    first = offline_record(box, card, world.theatre, world.show)
    second = offline_record(box, card, world.theatre, world.show)
    assert (first.conflict, second.conflict) == (None, "already_used")
    return first, second


@pytest.fixture
def clash_b(world) -> Visit:
    """Region B's flagged record: one card twice at one venue on one day, no event."""
    card = factories.card(world.b)
    db.session.commit()
    offline_record(world.users["boxoffice_b"], card, world.hall_b)
    return offline_record(world.users["boxoffice_b"], card, world.hall_b)


@dataclass
class Crossing:
    """A card of region C recorded twice offline at region A's show (the second is flagged),
    and used at C's own museum the same day."""

    card: object
    museum: object
    first: Visit
    flagged: Visit
    home_visit: Visit


@pytest.fixture
def crossing(world) -> Crossing:
    """Region C in the national network, its card flagged at region A's theatre."""
    c = factories.region("CCC", national=True)
    museum = factories.venue(c, "Museo C", "culture", "museum")
    box_c = factories.user("box-c", "boxoffice", region=c, venues=[museum])
    factories.user("coord-c", "coordinator", region=c)
    card = factories.card(c)
    db.session.commit()
    box = world.users["boxoffice"]
    earlier = datetime.now(UTC) - timedelta(minutes=30)
    first = offline_record(box, card, world.theatre, world.show, at=earlier)
    flagged = offline_record(box, card, world.theatre, world.show)
    home_visit = offline_record(box_c, card, museum, at=earlier - timedelta(minutes=5))
    assert (first.conflict, flagged.conflict, home_visit.conflict) == (None, "already_used", None)
    return Crossing(card, museum, first, flagged, home_visit)


@pytest.fixture
def english(client):
    """Pages in English, so that labels compare to their source text."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def queued(response) -> list[int]:
    """The ids of the records on a queue page, in order."""
    return [int(n) for n in re.findall(r'id="conflict-(\d+)"', response.get_data(as_text=True))]


def resolve(client, visit: Visit, resolution: str, reason: str | None = "conflict"):
    """Press keep or annul on a queued record's form."""
    prefix = f"visit-{visit.id}-"
    data = {"csrf_token": csrf_token(client, "/"), prefix + "resolution": resolution}
    if reason is not None:
        data[prefix + "reason"] = reason
    return client.post(f"/manage/conflicts/{visit.id}/resolve", data=data)


def fresh(visit: Visit) -> Visit:
    """The visit as the database has it now."""
    db.session.rollback()
    return db.session.get(Visit, visit.id)


def audit_actions() -> list[str]:
    """The actions of the audit trail, oldest first."""
    return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


# The queue

def test_the_queue_shows_the_flagged_record_with_card_venue_event_reason_and_the_other_record(
        world, clash, auth, english):
    _, second = clash
    auth.login("coord-a")
    html = english.get("/manage/conflicts").get_data(as_text=True)
    assert queued(english.get("/manage/conflicts")) == [second.id]
    assert format_number(second.card.number) in html
    assert world.theatre.name in html and world.show.title in html
    assert "The card had already been used for this event" in html
    # The other record of the card for the same event is listed beside it.
    others = re.search(r"<caption>.*?</table>", html, re.S).group(0)
    assert "box-a" in others and world.show.title in others


@pytest.mark.parametrize(("lang", "reason"), [
    ("fi", "Korttia oli jo käytetty tähän tapahtumaan"),
    ("sv", "Kortet hade redan använts för det här evenemanget"),
])
def test_the_queue_says_why_in_words_without_the_code_and_dates_the_finnish_way(
        world, clash, auth, client, lang, reason):
    _, second = clash
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    auth.login("coord-a")
    html = client.get("/manage/conflicts").get_data(as_text=True)
    assert reason in html and "already_used" not in html
    assert format_number(second.card.number) in html
    day = second.occurred_at.astimezone(TZ).date()
    assert f"{day.day}.{day.month}.{day.year}" in html and day.isoformat() not in html


def test_the_queue_reads_its_cards_venues_and_events_in_a_fixed_number_of_queries(world, auth,
                                                                                  client):
    def queue_with(n: int) -> int:
        for _ in range(n):
            card = factories.card(world.a)
            db.session.commit()
            offline_record(world.users["boxoffice"], card, world.theatre, world.show)
            offline_record(world.users["boxoffice"], card, world.theatre, world.show)
        with statements_sent() as sent:
            assert client.get("/manage/conflicts").status_code == 200
        return sent()

    auth.login("coord-a")
    assert queue_with(2) == queue_with(6)


def test_a_coordinator_sees_only_its_regions_conflicts_and_an_admin_all(world, clash, clash_b,
                                                                       auth, client):
    auth.login("coord-a")
    assert queued(client.get("/manage/conflicts")) == [clash[1].id]
    auth.logout()
    auth.login("coord-b")
    assert queued(client.get("/manage/conflicts")) == [clash_b.id]
    auth.logout()
    auth.login("admin1")
    assert sorted(queued(client.get("/manage/conflicts"))) == sorted([clash[1].id, clash_b.id])


def test_a_conflict_shows_in_the_queues_of_the_venues_region_and_of_the_cards_region(
        world, crossing, auth, client):
    for username, expected in (("coord-a", [crossing.flagged.id]),
                               ("coord-c", [crossing.flagged.id]), ("coord-b", [])):
        auth.login(username)
        assert queued(client.get("/manage/conflicts")) == expected, username
        auth.logout()
    c = db.session.scalar(sa.select(User).where(User.username == "coord-c"))
    assert conflicts_service.open_count(c) == 1


def test_the_cards_region_sees_a_conflict_at_another_regions_venue_but_the_venues_resolves_it(
        world, crossing, auth, english):
    auth.login("coord-c")
    html = english.get("/manage/conflicts").get_data(as_text=True)
    assert f"/manage/conflicts/{crossing.flagged.id}/resolve" not in html
    assert "The coordinator of the venue's region resolves this record." in html
    assert resolve(english, crossing.flagged, "annul").status_code == 403
    assert fresh(crossing.flagged).conflict_resolution is None
    assert audit_actions() == []
    auth.logout()
    auth.login("coord-a")
    assert resolve(english, crossing.flagged, "keep").status_code == 302
    assert fresh(crossing.flagged).conflict_resolution == "keep"


def test_a_coordinator_sees_its_own_regions_visits_of_the_card_and_of_others_only_a_count(
        world, crossing, auth, english):
    auth.login("coord-a")
    html = english.get("/manage/conflicts").get_data(as_text=True)
    assert "Museo C" not in html and "box-c" not in html
    assert "The card has 1 other record for the same event or day in other regions." in html
    others = re.search(r"<caption>.*?</table>", html, re.S).group(0)
    assert "box-a" in others and world.theatre.name in others  # its own region's, in full
    auth.logout()
    auth.login("coord-c")
    html = english.get("/manage/conflicts").get_data(as_text=True)
    assert world.theatre.name not in html and "box-a" not in html
    assert world.show.title not in html
    assert "A venue in another region: Region AAA" in html
    assert "The card has 1 other record for the same event or day in other regions." in html
    others = re.search(r"<caption>.*?</table>", html, re.S).group(0)
    assert "Museo C" in others and "box-c" in others


def test_an_admin_sees_every_regions_visits_of_the_card(world, crossing, auth, english):
    auth.login("admin1")
    html = english.get("/manage/conflicts").get_data(as_text=True)
    others = re.search(r"<caption>.*?</table>", html, re.S).group(0)
    assert all(word in others for word in ("Museo C", "box-c", world.theatre.name, "box-a"))
    assert "in other regions" not in html


@pytest.mark.parametrize(("lang", "count"), [
    ("fi", "Kortilla on 1 muu kirjaus samaan tapahtumaan tai samalle päivälle muilla alueilla."),
    ("sv", "Kortet har 1 annan registrering för samma evenemang eller dag i andra regioner."),
])
def test_the_count_of_other_regions_visits_speaks_finnish_and_swedish(world, crossing, auth,
                                                                      client, lang, count):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    auth.login("coord-a")
    assert count in client.get("/manage/conflicts").get_data(as_text=True)


def test_without_an_event_the_other_records_of_the_same_day_are_shown(world, clash_b, auth,
                                                                      client):
    auth.login("coord-b")
    html = client.get("/manage/conflicts").get_data(as_text=True)
    assert "box-b" in re.search(r"<caption>.*?</table>", html, re.S).group(0)


def test_records_that_were_not_flagged_are_not_in_the_queue(world, auth, client):
    card = factories.card(world.a)
    db.session.commit()
    offline_record(world.users["boxoffice"], card, world.theatre, world.show)
    auth.login("coord-a")
    assert queued(client.get("/manage/conflicts")) == []


def test_a_conflict_synced_through_the_scanner_api_reaches_the_queue(world, auth, client):
    card = factories.card(world.a)
    db.session.commit()
    auth.login("box-a")
    token = csrf_token(client, "/")
    for _ in range(2):
        client.post("/api/scan/sync", headers={"X-CSRFToken": token}, json={"visits": [{
            "code": card.number, "venue_id": world.theatre.id, "event_id": world.show.id,
            "adults": 1, "children": 0, "assistants": 0, "nonce": str(uuid.uuid4()),
            "occurred_at": datetime.now(UTC).isoformat(), "source": "offline"}]})
    auth.logout()
    auth.login("coord-a")
    db.session.rollback()  # see what the requests wrote
    flagged = db.session.scalar(sa.select(Visit).where(Visit.conflict.is_not(None)))
    assert queued(client.get("/manage/conflicts")) == [flagged.id]


# Resolving

def test_keeping_a_record_resolves_it_audits_it_and_moves_it_to_the_resolved_tab(
        world, clash, auth, client):
    _, second = clash
    auth.login("coord-a")
    response = resolve(client, second, "keep")
    assert response.status_code == 302
    assert response.headers["Location"] == "/manage/conflicts"
    visit = fresh(second)
    assert (visit.conflict_resolution, visit.status) == ("keep", "ok")
    assert visit.conflict_resolved_by_id == world.users["coordinator"].id
    assert visit.conflict_resolved_at is not None and visit.annulled_at is None
    event = db.session.scalar(sa.select(AuditEvent))
    assert (event.action, event.object_type, event.object_id, event.region_id) == (
        "visit.conflict_keep", "visits", second.id, world.a.id)
    assert event.details == {"conflict": "already_used"}
    assert queued(client.get("/manage/conflicts")) == []
    assert queued(client.get("/manage/conflicts?tab=resolved")) == [second.id]


def test_annulling_a_record_marks_it_annulled_with_the_reason_and_audits_it(world, clash, auth,
                                                                            client):
    _, second = clash
    auth.login("coord-a")
    resolve(client, second, "annul", "wrong_card")
    visit = fresh(second)
    coordinator = world.users["coordinator"].id
    assert (visit.conflict_resolution, visit.status, visit.annul_reason) == (
        "annul", "annulled", "wrong_card")
    assert visit.annulled_by_id == visit.conflict_resolved_by_id == coordinator
    assert visit.annulled_at == visit.conflict_resolved_at is not None
    event = db.session.scalar(sa.select(AuditEvent))
    assert event.action == "visit.conflict_annul"
    assert event.details == {"conflict": "already_used", "reason": "wrong_card"}


def test_an_annulled_record_no_longer_counts_for_the_event(world, clash, auth, client):
    first, second = clash
    auth.login("coord-a")
    resolve(client, second, "annul")
    db.session.rollback()
    counted = db.session.scalars(sa.select(Visit.id).where(
        Visit.event_id == world.show.id, Visit.status == "ok")).all()
    assert counted == [first.id]


def test_a_record_is_resolved_only_once(world, clash, auth, english):
    _, second = clash
    auth.login("coord-a")
    resolve(english, second, "keep")
    again = resolve(english, second, "annul")
    assert again.status_code == 302
    assert "already been resolved" in english.get("/manage/conflicts").get_data(as_text=True)
    assert fresh(second).status == "ok"
    assert audit_actions() == ["visit.conflict_keep"]


def test_another_regions_coordinator_gets_404_and_changes_nothing(world, clash, auth, client):
    _, second = clash
    auth.login("coord-b")
    assert resolve(client, second, "annul").status_code == 404
    assert fresh(second).conflict_resolution is None
    assert audit_actions() == []


def test_a_record_without_a_conflict_cannot_be_resolved(world, clash, auth, client):
    first, _ = clash
    auth.login("coord-a")
    assert resolve(client, first, "annul").status_code == 404
    assert (fresh(first).status, fresh(first).conflict_resolution) == ("ok", None)


@pytest.mark.parametrize(("resolution", "reason"), [
    ("annul", "because"), ("annul", None), ("forget", "conflict"), ("", "conflict")])
def test_an_unknown_resolution_or_reason_is_refused_and_changes_nothing(world, clash, auth,
                                                                        client, resolution,
                                                                        reason):
    _, second = clash
    auth.login("coord-a")
    data_reason = reason if reason is not None else ""
    response = resolve(client, second, resolution, data_reason)
    assert response.status_code == 302
    assert fresh(second).conflict_resolution is None
    assert audit_actions() == []


def test_a_record_the_box_office_already_undid_keeps_its_own_undoing(world, clash, auth, client):
    _, second = clash
    from app.scan.service import annul
    annul(world.users["boxoffice"], second.id, "mistake")
    undone = fresh(second)
    undone_at = undone.annulled_at
    auth.login("coord-a")
    resolve(client, second, "annul", "conflict")
    visit = fresh(second)
    assert (visit.conflict_resolution, visit.annul_reason) == ("annul", "mistake")
    assert (visit.annulled_by_id, visit.annulled_at) == (world.users["boxoffice"].id, undone_at)


def test_the_change_and_its_audit_event_are_one_transaction(world, clash, monkeypatch):
    _, second = clash

    def broken_audit(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(audit, "record", broken_audit)
    with pytest.raises(RuntimeError):
        conflicts_service.resolve(world.users["coordinator"], second.id, "annul", "conflict")
    db.session.rollback()
    visit = fresh(second)
    assert (visit.status, visit.conflict_resolution) == ("ok", None)


def test_the_queue_is_a_select_the_view_pages(world, clash, clash_b):
    query = conflicts_service.conflict_query(world.users["coordinator"])
    assert isinstance(query, sa.Select)
    assert [v.id for v in db.session.scalars(query)] == [clash[1].id]
    assert conflicts_service.open_count(world.users["admin"]) == 2


def test_the_queue_is_paged_fifty_records_at_a_time(world, auth, client):
    box, card = world.users["boxoffice"], factories.card(world.a)
    db.session.commit()
    start = datetime.now(UTC) - timedelta(hours=2)
    for n in range(52):  # the first is fine, the 51 after it are flagged
        offline_record(box, card, world.theatre, world.show, start + timedelta(seconds=n))
    auth.login("coord-a")
    assert len(queued(client.get("/manage/conflicts"))) == 50
    assert len(queued(client.get("/manage/conflicts?page=2"))) == 1


@pytest.mark.parametrize("username", ["issuer-a", "box-a"])
def test_issuers_and_box_offices_may_not_see_or_resolve_conflicts(world, clash, auth, client,
                                                                  username):
    auth.login(username)
    assert client.get("/manage/conflicts").status_code == 403
    assert resolve(client, clash[1], "annul").status_code == 403
    assert fresh(clash[1]).conflict_resolution is None
