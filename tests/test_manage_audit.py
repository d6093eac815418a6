"""The audit log (issue "Management"): scope, labels, filters, pages and the CSV download."""
from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from babel.dates import format_datetime

from app import audit
from app.extensions import db
from app.manage.audit_service import AuditFilter, audit_query
from app.models import AuditEvent
from app.rules import TZ
from tests.support import factories

# 21:30 UTC on 30 June is 00:30 on 1 July in Finland (summer time, +3).
LATE_JUNE_UTC = datetime(2025, 6, 30, 21, 30, tzinfo=UTC)
CODES = ("card.deactivate", "something.new", "venue.update")


def note(actor, action: str, obj, region, at: datetime | None = None, **details) -> AuditEvent:
    """An audit event of a region, at a given moment."""
    event = audit.record(actor, action, obj, region_id=region.id if region else None, **details)
    if at is not None:
        event.at = at
    return event


@pytest.fixture
def english(client):
    """Pages in English, so that labels compare to their source text."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def trail(world):
    """A card event and a visit event in region A, a venue event in region B."""
    card = factories.card(world.a, site=world.site_a)
    db.session.flush()
    events = {
        "deactivated": note(world.users["issuer"], "card.deactivate", card, world.a,
                     LATE_JUNE_UTC, reason="misuse"),
        "venue_b": note(world.users["coordinator_b"], "venue.update", world.hall_b, world.b,
                        LATE_JUNE_UTC - timedelta(days=3)),
        "unknown": note(world.users["coordinator"], "something.new", world.theatre, world.a,
                        LATE_JUNE_UTC - timedelta(days=1)),
    }
    db.session.commit()
    return {"card": card, **events}


def rows(response) -> list[str]:
    """The rows of the log table, as text without tags."""
    html = response.get_data(as_text=True)
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    if body is None:
        return []
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
            for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)]


def test_a_coordinator_sees_only_its_own_regions_events(world, trail, auth, english):
    auth.login("coord-a")
    shown = rows(english.get("/manage/audit"))
    assert len(shown) == 2
    assert not any("venue.update" in row or "coord-b" in row for row in shown)


def test_an_admin_sees_the_events_of_every_region(world, trail, auth, english):
    auth.login("admin1")
    assert len(rows(english.get("/manage/audit"))) == 3


def test_each_row_says_who_what_which_object_and_when_in_finnish_time(world, trail, auth,
                                                                      english):
    auth.login("coord-a")
    newest = rows(english.get("/manage/audit"))[0]
    local = re.sub(r"\s+", " ", format_datetime(LATE_JUNE_UTC, "short", tzinfo=TZ, locale="en"))
    assert local.startswith("7/1/25")  # the Finnish date, not the UTC one
    assert newest.startswith(f"{local} issuer-a Card deactivated")
    assert f"Card {trail['card'].id}" in newest
    assert "reason: misuse" in newest


def test_an_action_without_a_label_is_shown_by_its_code(world, trail, auth, english):
    auth.login("coord-a")
    assert any("something.new" in row for row in rows(english.get("/manage/audit")))


def test_an_admin_gets_a_link_to_the_cards_page_and_a_coordinator_none(world, trail, auth,
                                                                       client):
    link = f'href="/cards/{trail["card"].number}"'
    auth.login("admin1")
    assert link in client.get("/manage/audit").get_data(as_text=True)
    auth.logout()
    auth.login("coord-a")  # coordinators have no card page (DESIGN §2)
    html = client.get("/manage/audit").get_data(as_text=True)
    assert link not in html
    assert f'href="/manage/venues/{world.theatre.id}/edit"' in html


@pytest.mark.parametrize(("query", "expected"), [
    ({"object_type": "cards"}, ["card.deactivate"]),
    ({"object_type": "venues"}, ["something.new", "venue.update"]),
    ({"actor": "coord-b"}, ["venue.update"]),
    ({"actor": "nobody"}, []),
    ({"date_from": "2025-07-01"}, ["card.deactivate"]),
    ({"date_to": "2025-06-30"}, ["something.new", "venue.update"]),
    ({"date_from": "2025-06-28", "date_to": "2025-06-29"}, ["venue.update"]),
    ({"date_from": "2025-06-30", "date_to": "2025-06-30"}, ["something.new"]),
])
def test_filters_narrow_the_log(world, trail, auth, client, query, expected):
    auth.login("admin1")
    shown = rows(client.get("/manage/audit", query_string=query))
    assert sorted(code for row in shown for code in CODES if code in row) == expected


def test_the_object_id_filter_finds_one_objects_history(world, trail, auth, client):
    auth.login("admin1")
    shown = rows(client.get("/manage/audit", query_string={
        "object_type": "venues", "object_id": world.hall_b.id}))
    assert len(shown) == 1 and "venue.update" in shown[0]


@pytest.mark.parametrize("query", [
    {"object_id": "abc"}, {"date_from": "yesterday"},
    {"date_from": "2025-07-02", "date_to": "2025-07-01"}, {"object_type": "passwords"},
])
def test_a_malformed_filter_is_answered_400_with_the_form_and_no_rows(world, trail, auth, client,
                                                                      query):
    auth.login("admin1")
    response = client.get("/manage/audit", query_string=query)
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert rows(response) == []


def test_the_query_helper_returns_a_select_scoped_to_the_coordinators_region(world, trail):
    query = audit_query(world.users["coordinator"], AuditFilter())
    assert isinstance(query, sa.Select)
    assert {e.region_id for e in db.session.scalars(query)} == {world.a.id}
    everything = audit_query(world.users["admin"], AuditFilter(date_from=date(2025, 7, 1)))
    assert [e.action for e in db.session.scalars(everything)] == ["card.deactivate"]


def test_the_log_is_paged_fifty_events_at_a_time_newest_first_keeping_filters(world, auth,
                                                                              client):
    for n in range(120):
        note(world.users["coordinator"], "card.renew", world.theatre, world.a,
             LATE_JUNE_UTC + timedelta(minutes=n), n=n)
    db.session.commit()
    auth.login("coord-a")
    first = client.get("/manage/audit", query_string={"object_type": "venues"})
    last = client.get("/manage/audit", query_string={"object_type": "venues", "page": 3})
    assert len(rows(first)) == 50 and len(rows(last)) == 20
    assert "n: 119" in rows(first)[0] and "n: 0" in rows(last)[-1]
    assert "/manage/audit?object_type=venues&amp;page=2" in first.get_data(as_text=True) \
        or "/manage/audit?page=2&amp;object_type=venues" in first.get_data(as_text=True)
    assert rows(client.get("/manage/audit", query_string={"page": 99})) == []


def test_the_csv_download_holds_the_filtered_rows_of_the_region(world, trail, auth, english):
    auth.login("coord-a")
    response = english.get("/manage/audit.csv", query_string={"object_type": "cards"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True).lstrip("\ufeff")
    header, *lines = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert header == ["time", "actor", "action", "action_label", "object_type", "object_id",
                      "details"]
    assert lines == [["2025-07-01T00:30:00+03:00", "issuer-a", "card.deactivate",
                      "Card deactivated", "cards", str(trail["card"].id), '{"reason": "misuse"}']]


def test_the_csv_cannot_smuggle_a_formula_into_a_spreadsheet(world, auth, client):
    sly = factories.user("=cmd|calc", "coordinator", region=world.a)
    db.session.flush()
    note(sly, "card.renew", world.theatre, world.a)
    db.session.commit()
    auth.login("coord-a")
    text = client.get("/manage/audit.csv").get_data(as_text=True)
    assert "'=cmd|calc" in text
    assert ";=cmd" not in text


def test_the_log_page_links_the_csv_with_the_same_filters(world, trail, auth, client):
    auth.login("admin1")
    html = client.get("/manage/audit", query_string={"actor": "issuer-a"}).get_data(as_text=True)
    assert 'href="/manage/audit.csv?actor=issuer-a"' in html


@pytest.mark.parametrize("username", ["issuer-a", "box-a"])
def test_issuers_and_box_offices_may_not_read_the_log(world, trail, auth, client, username):
    auth.login(username)
    assert client.get("/manage/audit").status_code == 403
    assert client.get("/manage/audit.csv").status_code == 403


def test_a_csv_download_cut_short_closes_its_query(world, trail, auth, client):
    auth.login("admin1")
    response = client.get("/manage/audit.csv")
    chunks = response.response
    header, first_row = next(chunks), next(chunks)
    response.close()  # on PostgreSQL an open server-side cursor would warn, and warnings fail
    assert header.startswith(b"\xef\xbb\xbftime;") and b"card.deactivate" in first_row
