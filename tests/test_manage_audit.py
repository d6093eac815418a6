"""The audit log (issue "Management"): scope, labels, filters, pages and the CSV download."""
from __future__ import annotations

import ast
import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel.dates import format_datetime
from flask_babel import force_locale

from app import audit
from app.audit_labels import ACTION_LABELS
from app.cardcodes import format_number
from app.extensions import db
from app.manage.audit_service import AuditFilter, audit_query
from app.models import AuditEvent, Visit
from app.rules import TZ
from tests.support import factories
from tests.support.queries import statements_sent

# 21:30 UTC on 30 June is 00:30 on 1 July in Finland (summer time, +3).
LATE_JUNE_UTC = datetime(2025, 6, 30, 21, 30, tzinfo=UTC)
# How each of the trail's events reads in the (English) log.
WORDS = {"card.deactivate": "Card deactivated", "something.new": "something.new",
         "venue.update": "Venue changed"}
APP = Path(__file__).resolve().parents[1] / "app"


def note(actor, action: str, obj, region, at: datetime | None = None, **details) -> AuditEvent:
    """An audit event of a region, at a given moment."""
    event = audit.record(actor, action, obj, region_id=region.id if region else None, **details)
    if at is not None:
        event.at = at
    return event


def unlabelled(actor, venue, region, at: datetime) -> AuditEvent:
    """A row with a code this version has no label for (written by a later version)."""
    event = AuditEvent(actor_id=actor.id, region_id=region.id, action="something.new",
                       object_type="venues", object_id=venue.id, at=at, details={})
    db.session.add(event)
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
        "unknown": unlabelled(world.users["coordinator"], world.theatre, world.a,
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
    assert not any("Venue changed" in row or "coord-b" in row for row in shown)


def test_an_admin_sees_the_events_of_every_region(world, trail, auth, english):
    auth.login("admin1")
    assert len(rows(english.get("/manage/audit"))) == 3


def test_each_row_says_who_what_which_object_and_when_in_finnish_time(world, trail, auth,
                                                                      english):
    auth.login("coord-a")
    newest = rows(english.get("/manage/audit"))[0]
    local = re.sub(r"\s+", " ", format_datetime(LATE_JUNE_UTC, "short", tzinfo=TZ, locale="en_FI"))
    assert local == "01/07/2025, 0.30"  # the Finnish date, not the UTC one
    assert newest.startswith(f"{local} issuer-a Card deactivated")
    assert f"Card {format_number(trail['card'].number)}" in newest
    assert "Reason: Misuse" in newest


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
def test_filters_narrow_the_log(world, trail, auth, english, query, expected):
    auth.login("admin1")
    shown = rows(english.get("/manage/audit", query_string=query))
    assert sorted(code for row in shown for code, words in WORDS.items() if words in row) \
        == expected


@pytest.mark.parametrize("query", [
    {"card_number": "abc"}, {"date_from": "yesterday"},
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
        note(world.users["coordinator"], "venue.update", world.theatre, world.a,
             LATE_JUNE_UTC + timedelta(minutes=n), default_quota=n)
    db.session.commit()
    auth.login("coord-a")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    first = client.get("/manage/audit", query_string={"object_type": "venues"})
    last = client.get("/manage/audit", query_string={"object_type": "venues", "page": 3})
    assert len(rows(first)) == 50 and len(rows(last)) == 20
    assert "quota per event: 119" in rows(first)[0] and "quota per event: 0" in rows(last)[-1]
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
    assert header == ["Time", "Who", "What", "Object", "Details", "Action code",
                      "Object type code", "Object id"]
    assert lines == [["2025-07-01T00:30:00+03:00", "issuer-a", "Card deactivated",
                      f"Card {format_number(trail['card'].number)}", "Reason: Misuse",
                      "card.deactivate", "cards", str(trail["card"].id)]]


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
    assert header.startswith(b"\xef\xbb\xbf") and b"card.deactivate" in first_row


def a_visit(card, venue, user) -> Visit:
    """A use of a card at a venue, recorded now."""
    visit = Visit(card=card, venue_id=venue.id, user_id=user.id, category="culture",
                  occurred_at=datetime.now(UTC), nonce=f"n-{card.number}-{venue.id}",
                  source="manual")
    db.session.add(visit)
    db.session.flush()
    return visit


@pytest.fixture
def history(world):
    """A card's life in region A, in the words a coordinator should read, and a card of B."""
    old, new, other = factories.card(world.a), factories.card(world.a), factories.card(world.b)
    db.session.flush()
    issuer, box, coord = (world.users[k] for k in ("issuer", "boxoffice", "coordinator"))
    visit = a_visit(old, world.theatre, box)
    note(issuer, "card.register", old, world.a, preprinted=False)
    note(box, "visit.annul", visit, world.a, reason="mistake")
    note(issuer, "card.replace", old, world.a, reason="lost", new_card_id=new.id)
    note(coord, "venue.update", world.theatre, world.a, changed=["default_quota", "name"],
         default_quota=None)
    note(coord, "user.create", world.users["boxoffice"], world.a, role="boxoffice", site_id=None,
         venue_ids=f"{world.theatre.id},{world.college.id}", generated_password=True)
    note(coord, "event.create", world.show, world.a, venue_id=world.theatre.id, kind="course",
         quota=None)
    note(coord, "region.rules", world.a, world.a, changed=["national_network"],
         national_network=False)
    note(world.users["issuer"], "card.renew", other, world.b, valid_until="2026-12-02")
    db.session.commit()
    return {"old": old, "new": new, "other": other, "visit": visit}


@pytest.mark.parametrize(("lang", "expected"), [
    ("fi", ["Kortti rekisteröity", "Esipainettu kortti: ei", "Syy: Kirjattu vahingossa",
            "Kortti korvattu", "Syy: Kadonnut tai varastettu", "Uusi kortti: {new}",
            "Kortti {old}", "Käynti, kortti {old}", "oletuskiintiö tapahtumaa kohden: ei kiintiötä",
            "Rooli: Lipunmyynti", "Teatteri, Opisto", "Palvelun luoma salasana: kyllä",
            "Vain alueellinen", "Kurssi"]),
    ("sv", ["Kort registrerat", "Förtryckt kort: nej", "Nytt kort: {new}", "Kort {old}",
            "Besök, kort {old}", "Roll: Biljettförsäljning", "Endast regionalt"]),
])
def test_every_action_and_detail_reads_in_words_with_cards_by_number(world, history, auth,
                                                                     client, lang, expected):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    auth.login("coord-a")
    text = " | ".join(rows(client.get("/manage/audit")))
    for words in expected:
        words = words.format(old=format_number(history["old"].number),
                             new=format_number(history["new"].number))
        assert words in text, words
    for code in ("card.register", "visit.annul", "preprinted", "new_card_id", "mistake", "False",
                 "True", "venue_ids", "default_quota", ": None", "(deactivated)"):
        assert code not in text, code
    assert f"Kortti {history['old'].id}" not in text and f"Kort {history['old'].id} " not in text
    today = datetime.now(TZ).date()  # Finland's one date format, in Swedish too
    assert text.startswith(f"{today.day}.{today.month}.{today.year} ")
    assert today.isoformat() not in text


def test_another_regions_rows_and_card_numbers_never_appear(world, history, auth, client):
    auth.login("coord-a")
    html = client.get("/manage/audit").get_data(as_text=True)
    csv_text = client.get("/manage/audit.csv").get_data(as_text=True)
    number = history["other"].number
    for text in (html, csv_text):
        assert number not in text and format_number(number) not in text
        assert format_number(history["old"].number) in text


def typed_like_a_person(number: str) -> str:
    """The number as someone might type it: small letters, spaces, look-alike O for 0."""
    grouped = format_number(number).lower().replace("-", " - ", 1)
    return grouped.replace("0", "o").replace("1", "l")


def test_the_card_filter_takes_a_typed_number_and_shows_the_cards_whole_history(world, history,
                                                                                auth, english):
    auth.login("coord-a")
    typed = typed_like_a_person(history["old"].number)
    shown = rows(english.get("/manage/audit", query_string={"card_number": typed}))
    assert [row.split(" ", 3)[-1].split(" Card ")[0] for row in shown] and len(shown) == 3
    assert any("Card replaced" in row for row in shown)
    assert any("Record undone at the door" in row for row in shown)
    assert any("Card registered" in row for row in shown)
    assert not any("Venue changed" in row for row in shown)
    # The new card's history starts with the replacement that made it.
    shown = rows(english.get("/manage/audit", query_string={
        "card_number": format_number(history["new"].number)}))
    assert len(shown) == 1 and "Card replaced" in shown[0]


def test_another_regions_card_number_filters_to_nothing_like_an_unknown_one(world, history, auth,
                                                                            english):
    auth.login("coord-a")
    other = english.get("/manage/audit", query_string={"card_number": history["other"].number})
    unknown = english.get("/manage/audit", query_string={"card_number": factories.unused_number()})
    for response in (other, unknown):
        assert response.status_code == 200 and rows(response) == []
        assert "No events match the filters." in response.get_data(as_text=True)
    assert other.get_data(as_text=True).replace(history["other"].number, "") \
        .count("aria-invalid") == 0


def test_a_mistyped_card_number_gets_the_forms_message(world, history, auth, english):
    auth.login("coord-a")
    number = history["old"].number
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")  # the check character fails
    response = english.get("/manage/audit", query_string={"card_number": wrong})
    assert response.status_code == 400
    assert "This is not a card number. Check the characters and try again." in \
        response.get_data(as_text=True)
    assert rows(response) == []


def test_the_page_names_its_cards_and_places_in_a_fixed_number_of_queries(world, auth, client):
    def page_with(n: int) -> int:
        for _ in range(n):
            card = factories.card(world.a)
            db.session.flush()
            note(world.users["issuer"], "card.replace", card, world.a, reason="damaged",
                 new_card_id=card.id)
            note(world.users["coordinator"], "event.create", world.show, world.a,
                 venue_id=world.theatre.id, kind="event", quota=5)
        db.session.commit()
        with statements_sent() as sent:
            assert client.get("/manage/audit").status_code == 200
        return sent()

    auth.login("coord-a")
    assert page_with(2) == page_with(20)


def audit_record_calls() -> list[tuple[str, ast.expr]]:
    """Every action given to audit.record, or as AuditEvent(action=…), in the app's code; an
    action passed on in a variable is followed to the calls of the function that passes it."""
    found = []
    for path in APP.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
            for node in ast.walk(function):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                if isinstance(func, ast.Attribute) and func.attr == "record" \
                        and isinstance(func.value, ast.Name) and func.value.id == "audit":
                    action = node.args[1]
                    found += [(str(path), action)] if not isinstance(action, ast.Name) else \
                        [(str(path), a) for a in passed_to(tree, function.name)]
                elif isinstance(func, ast.Name) and func.id == "AuditEvent":
                    found += [(str(path), k.value) for k in node.keywords  # not record's own
                              if k.arg == "action" and not isinstance(k.value, ast.Name)]
    return found


def passed_to(tree: ast.Module, function: str) -> list[ast.expr]:
    """The action codes (strings like "venue.update") given to calls of one function."""
    return [arg for node in ast.walk(tree) if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name) and node.func.id == function
            for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            and re.fullmatch(r"[a-z]+\.[a-z_]+", arg.value)]


def test_every_action_code_the_app_writes_has_a_label_in_finnish_swedish_and_english(app):
    calls = audit_record_calls()
    assert len(calls) > 15  # the search finds the calls
    for path, action in calls:
        if isinstance(action, ast.IfExp):  # "user.reactivate" if active else "user.deactivate"
            calls += [(path, action.body), (path, action.orelse)]
        elif isinstance(action, ast.Constant):
            assert action.value in ACTION_LABELS, f"{path}: {action.value} has no label"
        else:  # an f-string: every code it can make must have a label; record() refuses others
            pattern = re.compile("".join(
                re.escape(part.value) if isinstance(part, ast.Constant) else "[a-z_]+"
                for part in action.values) + "$")
            assert any(pattern.match(code) for code in ACTION_LABELS), f"{path}: {pattern}"
    for lang in ("fi", "sv"):
        with app.test_request_context(), force_locale(lang):
            untranslated = [code for code, label in ACTION_LABELS.items()
                            if str(label) == label._args[0]]
        assert untranslated == [], lang


def test_recording_an_action_without_a_label_is_refused(world):
    with pytest.raises(ValueError, match="no label"):
        audit.record(world.users["coordinator"], "venue.explode", world.theatre, world.a.id)
