"""Managing events and courses: one event, a series, edits, cancelling, who may do it (issue 6)."""
from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.manage.events_service import EventError, Repeat, local_start, series_days
from app.models import AuditEvent, Event, Visit
from app.rules import TZ
from tests.conftest import csrf_token
from tests.support import factories


@pytest.fixture
def coordinator(world, auth, client):
    """Region A's coordinator, signed in, reading English pages."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    auth.login("coord-a")
    return world.users["coordinator"]


def post(client, path: str, data: dict | None = None, **kwargs):
    """Post a form with the page's CSRF token, as a browser does."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, "/")},
                       **kwargs)


def text(response) -> str:
    """The response body as text."""
    return response.get_data(as_text=True)


def events(**where) -> list[Event]:
    """Events, oldest first, optionally by title."""
    db.session.rollback()
    query = sa.select(Event).order_by(Event.starts_at, Event.id)
    if "title" in where:
        query = query.where(Event.title == where["title"])
    return list(db.session.scalars(query))


def audits(action: str) -> list[AuditEvent]:
    """Audit events of one action, oldest first."""
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)
                                   .order_by(AuditEvent.id)))


def local(moment: datetime) -> datetime:
    """A stored moment as Finnish wall-clock time, without the zone."""
    return moment.astimezone(TZ).replace(tzinfo=None)


def event_form(place, **changes) -> dict:
    """A complete one-event form."""
    data = {"venue": str(place.id), "title": "Hamlet", "date": "2027-05-14",
            "start_time": "19:00", "kind": "event", "quota": "8"}
    data.update(changes)
    return data


def series_form(place, **changes) -> dict:
    """A complete series form: a weekly course, 12 times."""
    data = {"venue": str(place.id), "title": "Posliinimaalaus", "first_date": "2027-10-07",
            "start_time": "17:00", "every_weeks": "1", "count": "12", "until": "",
            "kind": "course", "quota": "4"}
    data.update(changes)
    return data


# One event

def test_a_new_event_is_saved_at_the_finnish_time_typed_as_aware_utc(world, coordinator, client):
    response = post(client, "/manage/events/new", event_form(world.theatre))
    [event] = events(title="Hamlet")
    assert response.status_code == 302
    assert event.starts_at == datetime(2027, 5, 14, 16, 0, tzinfo=UTC)  # 19:00 summer time
    assert (event.venue_id, event.kind, event.quota, event.active) == (world.theatre.id, "event", 8, True)
    [record] = audits("event.create")
    assert record.object_id == event.id and record.region_id == world.a.id
    assert record.details == {"venue_id": world.theatre.id, "kind": "event", "quota": 8}


def test_an_empty_quota_means_no_limit(world, coordinator, client):
    post(client, "/manage/events/new", event_form(world.theatre, quota=""))
    [event] = events(title="Hamlet")
    assert event.quota is None


def test_a_new_event_form_starts_with_the_venues_default_quota(world, coordinator, client):
    world.theatre.default_quota = 25
    db.session.commit()
    page = text(client.get(f"/manage/events/new?venue={world.theatre.id}"))
    assert re.search(r'<input[^>]* id="quota"[^>]* value="25"', page)


def test_the_event_form_offers_only_active_venues_of_the_own_region(world, coordinator, client):
    closed = factories.venue(world.a, "Suljettu", active=False)
    db.session.commit()
    page = text(client.get("/manage/events/new"))
    assert world.theatre.name in page and world.college.name in page
    assert world.hall_b.name not in page and closed.name not in page


@pytest.mark.parametrize("field, value, message", [
    ("title", "", "Enter the title"),
    ("title", "x" * 201, "At most 200 characters"),
    ("date", "", "Enter the date"),
    ("date", "31.2.2027", "Enter a date"),
    ("start_time", "", "Enter a time"),
    ("start_time", "25:00", "Enter a time"),
    ("quota", "-1", "Between 0 and 100000"),
    ("quota", "many", "Enter a whole number"),
    ("quota", "٨", "Enter a whole number"),  # int() reads Arabic-Indic ٨ as 8
    ("date", "٢٠٢٧-05-14", "Enter a date"),  # so does strptime
    ("kind", "party", "Not a valid choice"),
    ("venue", "", "Choose the venue"),
])
def test_a_wrong_field_is_named_and_nothing_is_saved(world, coordinator, client, field, value,
                                                     message):
    before = len(events())
    response = post(client, "/manage/events/new", event_form(world.theatre, **{field: value}))
    assert response.status_code == 400
    page = text(response)
    assert message in page and f'id="{field}-error"' in page
    assert len(events()) == before and audits("event.create") == []


def test_a_venue_of_another_region_is_refused(world, coordinator, client):
    response = post(client, "/manage/events/new", event_form(world.hall_b))
    assert response.status_code == 400
    assert events(title="Hamlet") == []


def test_an_inactive_venue_is_refused(world, coordinator, client):
    world.theatre.active = False
    db.session.commit()
    response = post(client, "/manage/events/new", event_form(world.theatre))
    assert response.status_code == 400
    assert events(title="Hamlet") == []


def test_a_time_skipped_by_the_spring_clock_change_is_refused(world, coordinator, client):
    response = post(client, "/manage/events/new",
                    event_form(world.theatre, date="2027-03-28", start_time="03:30"))
    assert response.status_code == 400
    assert "clocks go forward" in text(response)
    assert events(title="Hamlet") == []


# A series

@pytest.mark.parametrize("first, change", [
    ("2027-10-07", date(2027, 10, 31)),  # back to winter time
    ("2027-03-04", date(2027, 3, 28)),   # on to summer time
])
def test_a_weekly_course_for_12_weeks_keeps_its_finnish_time_across_the_clock_change(
        world, coordinator, client, first, change):
    response = post(client, "/manage/events/series/new", series_form(world.college, first_date=first))
    course = events(title="Posliinimaalaus")
    assert len(course) == 12
    first_day = date.fromisoformat(first)
    assert [local(e.starts_at) for e in course] == [
        datetime.combine(first_day + timedelta(weeks=n), time(17)) for n in range(12)]
    offsets = {e.starts_at.astimezone(TZ).utcoffset() for e in course}
    assert offsets == {timedelta(hours=2), timedelta(hours=3)}
    assert any(e.starts_at.date() < change for e in course)
    assert all((e.venue_id, e.kind, e.quota, e.active) == (world.college.id, "course", 4, True)
               for e in course)
    assert response.status_code == 302
    listing = text(client.get(response.headers["Location"]))
    assert listing.count("Posliinimaalaus") == 12
    assert len(audits("event.create")) == 12


def test_a_series_every_two_weeks_until_a_date_includes_the_last_date(world, coordinator, client):
    post(client, "/manage/events/series/new",
         series_form(world.college, first_date="2027-01-05", every_weeks="2", count="",
                     until="2027-03-02"))
    assert [local(e.starts_at).date() for e in events(title="Posliinimaalaus")] == [
        date(2027, 1, 5), date(2027, 1, 19), date(2027, 2, 2), date(2027, 2, 16), date(2027, 3, 2)]


@pytest.mark.parametrize("changes, message", [
    ({"count": "53"}, "Between 2 and 52"),
    ({"count": "1"}, "Between 2 and 52"),
    ({"count": ""}, "Give either the number of times or the last date"),
    ({"until": "2027-12-30"}, "Give either the number of times or the last date"),
    ({"count": "", "until": "2027-10-01"}, "The last date is before the first date"),
    ({"count": "", "until": "2029-01-01"}, "A series has 2 to 52 events"),
    ({"every_weeks": "5"}, "Not a valid choice"),
    ({"first_date": "2027-03-14", "start_time": "03:30", "count": "4"}, "clocks go forward"),
    ({"title": ""}, "Enter the title"),
    ({"venue": "999999"}, "Not a valid choice"),
])
def test_an_invalid_series_creates_nothing(world, coordinator, client, changes, message):
    response = post(client, "/manage/events/series/new", series_form(world.college, **changes))
    assert response.status_code == 400
    assert message in text(response)
    assert events(title="Posliinimaalaus") == [] and audits("event.create") == []


def test_series_dates_are_computed_in_local_days_not_utc_hours():
    assert series_days(date(2027, 3, 25), Repeat(every_weeks=1, count=2)) == [
        date(2027, 3, 25), date(2027, 4, 1)]
    with pytest.raises(EventError) as refused:
        series_days(date(2027, 3, 25), Repeat(every_weeks=1, count=2, until=date(2027, 4, 1)))
    assert refused.value.field == "count"


def test_the_repeated_autumn_hour_is_taken_as_summer_time():
    assert local_start(date(2027, 10, 31), time(3, 30)) == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)


# Editing, cancelling, reinstating

def test_editing_an_event_changes_it_and_records_which_fields_changed(world, coordinator, client):
    show = world.show
    response = post(client, f"/manage/events/{show.id}/edit",
                    event_form(world.theatre, title="Uusi nimi", date="2027-01-15",
                               start_time="18:30", quota="5"))
    assert response.status_code == 302
    db.session.rollback()  # a new transaction sees what the request saved
    assert (show.title, show.quota) == ("Uusi nimi", 5)
    assert show.starts_at == datetime(2027, 1, 15, 16, 30, tzinfo=UTC)  # winter time
    [record] = audits("event.update")
    assert record.details["changed"] == "quota,starts_at,title"
    assert "Uusi nimi" not in str(record.details)


def test_the_edit_form_shows_the_finnish_local_time(world, coordinator, client):
    world.show.starts_at = datetime(2027, 7, 1, 14, 0, tzinfo=UTC)
    db.session.commit()
    page = text(client.get(f"/manage/events/{world.show.id}/edit"))
    assert 'value="2027-07-01"' in page and 'value="17:00"' in page


def test_an_event_keeps_its_venue_once_cards_were_used_for_it(world, coordinator, client):
    visit = Visit(card=factories.card(world.a), venue=world.theatre, event=world.show,
                  user_id=world.users["boxoffice"].id, category="culture",
                  occurred_at=datetime.now(UTC), nonce=str(uuid.uuid4()), source="manual")
    db.session.add(visit)
    db.session.commit()
    response = post(client, f"/manage/events/{world.show.id}/edit", event_form(world.college))
    assert response.status_code == 400
    assert "its venue cannot change" in text(response)
    db.session.rollback()  # a new transaction sees what the request saved
    assert world.show.venue_id == world.theatre.id


def test_cancelling_keeps_the_event_and_reinstating_brings_it_back(world, coordinator, client):
    show_id = world.show.id
    response = post(client, f"/manage/events/{show_id}/active", {"active": "0", "confirmed": "1"},
                    follow_redirects=True)
    assert "The event was cancelled." in text(response)
    db.session.rollback()
    assert db.session.get(Event, show_id).active is False
    post(client, f"/manage/events/{show_id}/active", {"active": "1"})
    db.session.rollback()
    assert db.session.get(Event, show_id).active is True
    assert [a.action for a in db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.object_id == show_id).order_by(AuditEvent.id))] == \
        ["event.cancel", "event.reinstate"]


def test_cancelling_without_a_csrf_token_changes_nothing(world, coordinator, client):
    response = client.post(f"/manage/events/{world.show.id}/active", data={"active": "0", "confirmed": "1"})
    assert response.status_code == 400
    db.session.rollback()  # a new transaction sees what the request saved
    assert world.show.active is True


# The list

def test_the_list_shows_upcoming_events_of_the_own_region_only(world, coordinator, client, now):
    old = factories.event(world.theatre, starts_at=now - timedelta(days=40))
    old.title = "Vanha esitys"
    other = factories.event(world.hall_b)
    other.title = "Toisen alueen ottelu"
    db.session.commit()
    page = text(client.get("/manage/events"))
    assert world.course.title in page
    assert "Vanha esitys" not in page and "Toisen alueen ottelu" not in page
    assert "Vanha esitys" in text(client.get("/manage/events?past=y"))


@pytest.mark.parametrize(("lang", "weekday"), [("fi", "ke"), ("sv", "ons"), ("en", "Wed")])
def test_the_list_writes_dates_and_times_as_in_finland_in_every_language(world, coordinator,
                                                                         client, lang, weekday):
    show = factories.event(world.theatre, starts_at=datetime(2036, 12, 3, 16, 5, tzinfo=UTC))
    show.title = "Joulukonsertti"
    db.session.commit()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    page = text(client.get("/manage/events?first_day=2036-12-01&last_day=2036-12-31"))
    row = re.search(r"<tr>(?:(?!</tr>).)*Joulukonsertti.*?</tr>", page, re.S).group(0)
    shown = {"fi": "3.12.2036 18.05", "sv": "3.12.2036 18.05", "en": "03/12/2036, 18.05"}[lang]
    assert f"{weekday} {shown}" in re.sub(r"\s+", " ", row)  # Finnish time, one format
    assert "2036-12-03 18" not in row


def test_the_list_narrows_by_venue_and_dates(world, coordinator, client):
    post(client, "/manage/events/series/new", series_form(world.college))
    page = text(client.get(f"/manage/events?venue={world.college.id}"
                           "&first_day=2027-10-14&last_day=2027-10-28"))
    assert page.count("Posliinimaalaus") == 3
    assert world.show.title not in page


def test_an_admin_sees_the_events_of_every_region(world, auth, client):
    other = factories.event(world.hall_b)
    other.title = "Toisen alueen ottelu"
    db.session.commit()
    auth.login("admin1")
    assert "Toisen alueen ottelu" in text(client.get("/manage/events"))


# Who may

def event_urls(event_id: int) -> list[tuple[str, str]]:
    """Every event route with a method."""
    return [("GET", "/manage/events"), ("GET", "/manage/events/new"),
            ("POST", "/manage/events/new"), ("GET", "/manage/events/series/new"),
            ("POST", "/manage/events/series/new"), ("GET", f"/manage/events/{event_id}/edit"),
            ("POST", f"/manage/events/{event_id}/edit"), ("POST", f"/manage/events/{event_id}/active")]


@pytest.mark.parametrize("username", ["issuer-a", "box-a"])
def test_issuers_and_box_offices_are_forbidden_every_event_route(world, auth, client, username):
    auth.login(username)
    token = csrf_token(client, "/")
    for method, url in event_urls(world.show.id):
        response = client.open(url, method=method,
                               data={"csrf_token": token, "active": "0", "confirmed": "1"})
        assert response.status_code == 403, (method, url)
    db.session.rollback()  # a new transaction sees what the request saved
    assert world.show.active is True


def test_another_regions_event_is_not_found_for_a_coordinator(world, coordinator, client):
    other = factories.event(world.hall_b)
    db.session.commit()
    token = csrf_token(client, "/")
    for method, url in event_urls(other.id)[5:]:
        response = client.open(url, method=method, data={
            **event_form(world.theatre), "active": "0", "confirmed": "1", "csrf_token": token})
        assert response.status_code == 404, (method, url)
    db.session.rollback()  # a new transaction sees what the request saved
    assert other.active is True and other.venue_id == world.hall_b.id


def test_cancelling_an_event_asks_first_and_changes_nothing_until_confirmed(world, coordinator,
                                                                            client):
    path = f"/manage/events/{world.show.id}/active"
    response = post(client, path, {"active": "0"})
    page = text(response)
    assert response.status_code == 200
    assert 'name="confirmed" value="1"' in page and f'action="{path}"' in page
    db.session.rollback()
    assert db.session.get(Event, world.show.id).active is True
    post(client, path, {"active": "0", "confirmed": "1"})
    db.session.rollback()
    assert db.session.get(Event, world.show.id).active is False
