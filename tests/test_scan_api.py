"""The scanner's JSON API (DESIGN §7): verdicts, records, undo, today's list, offline bundle, sync."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.cardcodes import ALPHABET, format_number, new_number, verify_payload
from app.cards.service import qr_payload
from app.extensions import db
from app.models import Region, ScanAttempt, Visit
from app.scan import service
from tests.conftest import csrf_token
from tests.support import factories


class Api:
    """A signed-in scanner: JSON bodies with the page's CSRF token in X-CSRFToken."""

    def __init__(self, client) -> None:
        self.client = client
        self.token = None

    def post(self, path: str, body, token: bool = True):
        """POST JSON, as the PWA does."""
        if self.token is None:
            self.token = csrf_token(self.client, "/")
        headers = {"X-CSRFToken": self.token} if token else {}
        return self.client.post(path, json=body, headers=headers)

    def get(self, path: str, **params):
        """GET with query parameters."""
        return self.client.get(path, query_string=params)


@pytest.fixture
def api(world, auth, client) -> Api:
    """Region A's box office, signed in."""
    auth.login("box-a")
    return Api(client)


def now_iso() -> str:
    """Now as the device writes it."""
    return datetime.now(UTC).isoformat()


def redeem_body(world, card, event=None, **changes) -> dict:
    """A complete redeem body."""
    body = {"code": card.number, "venue_id": world.theatre.id,
            "event_id": event.id if event else None, "adults": 1, "children": 0,
            "assistants": 0, "nonce": str(uuid.uuid4()), "occurred_at": now_iso(),
            "source": "camera"}
    body.update(changes)
    return body


def visits() -> list[Visit]:
    """Every visit."""
    db.session.rollback()
    return list(db.session.scalars(sa.select(Visit).order_by(Visit.id)))


# check

def test_check_answers_ok_with_the_card_and_what_it_allows(world, api):
    card = factories.card(world.a, children=2)
    db.session.commit()
    answer = api.post("/api/scan/check", {"code": qr_payload(card), "venue_id": world.theatre.id})
    assert answer.status_code == 200
    data = answer.get_json()
    assert (data["verdict"], data["reason"]) == ("ok", "ok")
    assert data["card"] == {"number": format_number(card.number), "region": "AAA",
                            "region_id": world.a.id, "kind": "personal", "children": 2,
                            "region_names": {"fi": world.a.name_fi, "sv": world.a.name_sv,
                                             "en": world.a.name_en},
                            "period": "month", "valid_until": card.valid_until.isoformat()}
    assert data["allowed"] == {"adults": 1, "children": 2, "assistants": 1, "persons": 4}
    assert (data["places_left"], data["earlier_visit"]) == (None, None)


def fill(world, event, persons: int) -> None:
    """Record `persons` persons for `event` with cards of their own."""
    for _ in range(persons):
        db.session.add(Visit(card=factories.card(world.a), venue_id=world.theatre.id,
                             event_id=event.id, user_id=world.users["boxoffice"].id,
                             category=world.theatre.category, occurred_at=datetime.now(UTC),
                             nonce=str(uuid.uuid4()), source="camera"))
    db.session.commit()


def test_check_says_how_many_places_are_left_and_caps_allowed_by_them(world, api):
    fill(world, world.small_show, 7)  # quota 10: three left
    card = factories.card(world.a, children=2)
    db.session.commit()
    data = api.post("/api/scan/check", {"code": card.number, "venue_id": world.theatre.id,
                                        "event_id": world.small_show.id}).get_json()
    assert (data["verdict"], data["places_left"]) == ("ok", 3)
    assert data["allowed"] == {"adults": 1, "children": 2, "assistants": 1, "persons": 3}


def test_redeem_of_a_group_larger_than_the_places_left_is_too_few_places_and_records_nothing(
        world, api):
    fill(world, world.small_show, 7)
    card = factories.card(world.a, children=2)
    db.session.commit()
    four = redeem_body(world, card, world.small_show, children=2, assistants=1)
    data = api.post("/api/scan/redeem", four).get_json()
    assert (data["verdict"], data["reason"], data["places_left"]) == ("refused", "too_few_places", 3)
    assert data["visit_id"] is None
    three = redeem_body(world, card, world.small_show, children=2)
    assert api.post("/api/scan/redeem", three).get_json()["verdict"] == "ok"


def test_an_event_with_no_place_left_is_event_full_with_nothing_allowed(world, api):
    fill(world, world.small_show, 10)
    card = factories.card(world.a)
    db.session.commit()
    data = api.post("/api/scan/check", {"code": card.number, "venue_id": world.theatre.id,
                                        "event_id": world.small_show.id}).get_json()
    assert (data["reason"], data["places_left"]) == ("event_full", 0)
    assert data["allowed"]["persons"] == 0


def test_already_used_answers_when_and_where_the_card_was_used(world, api):
    card = factories.card(world.a)
    db.session.commit()
    first = api.post("/api/scan/redeem", redeem_body(world, card, world.show)).get_json()
    assert first["verdict"] == "ok"
    data = api.post("/api/scan/check", {"code": card.number, "venue_id": world.theatre.id,
                                        "event_id": world.show.id}).get_json()
    assert data["reason"] == "already_used"
    earlier = data["earlier_visit"]
    assert (earlier["here"], earlier["this_event"], earlier["venue_name"]) == (
        True, True, world.theatre.name)
    [visit] = visits()
    assert datetime.fromisoformat(earlier["occurred_at"]) == visit.occurred_at


@pytest.mark.parametrize("typed", ["7KQD-3MZ-PX", "7kqd 3mz px", "7KQD-3MZ-PX4Q"])
def test_a_mistyped_number_is_a_typing_error_not_a_verdict_and_stores_nothing(world, api, typed):
    card = factories.card(world.a)
    db.session.commit()  # the requests write their rate limit's counter: no open write here
    for path, body in (("/api/scan/check", {"code": typed, "venue_id": world.theatre.id}),
                       ("/api/scan/redeem", {**redeem_body(world, card), "code": typed})):
        answer = api.post(path, body)
        assert answer.status_code == 422
        assert answer.get_json()["error"]["code"] == "typing_error"
    assert db.session.scalar(sa.select(sa.func.count(ScanAttempt.id))) == 0
    assert visits() == []


def test_a_number_one_symbol_off_is_a_typing_error_but_a_well_formed_unknown_one_is_not(
        world, api):
    card = factories.card(world.a)
    db.session.commit()
    wrong = ALPHABET[(ALPHABET.index(card.number[3]) + 1) % len(ALPHABET)]
    typo = card.number[:3] + wrong + card.number[4:]
    assert api.post("/api/scan/check", {"code": typo, "venue_id": world.theatre.id}
                    ).status_code == 422
    body = new_number()
    data = api.post("/api/scan/check", {"code": body, "venue_id": world.theatre.id}).get_json()
    assert data["reason"] == "unknown_card"


@pytest.mark.parametrize("code, reason", [
    ("HELLO THERE, WORLD", "unknown_card"), ("", "unknown_card"), ("\x00\x01binary", "unknown_card"),
    ("A" * 4096, "unknown_card"),
])
def test_check_refuses_what_is_not_a_card_with_a_reason_code(world, api, code, reason):
    data = api.post("/api/scan/check", {"code": code, "venue_id": world.theatre.id}).get_json()
    assert (data["verdict"], data["reason"], data["card"]) == ("refused", reason, None)


def test_a_truncated_or_tampered_payload_is_refused(world, api):
    card = factories.card(world.a)
    db.session.commit()
    payload = qr_payload(card)
    truncated = api.post("/api/scan/check", {"code": payload[:-10], "venue_id": world.theatre.id})
    tampered = payload[:20] + ("B" if payload[20] != "B" else "C") + payload[21:]
    altered = api.post("/api/scan/check", {"code": tampered, "venue_id": world.theatre.id})
    assert truncated.get_json()["reason"] in {"unknown_card", "bad_signature"}
    assert altered.get_json()["reason"] == "bad_signature"


@pytest.mark.parametrize("body, status, code", [
    ({"venue_id": 1}, 400, "invalid_request"),
    ({"code": "X", "venue_id": "1"}, 400, "invalid_request"),
    ({"code": "X", "venue_id": True}, 400, "invalid_request"),
    ({"code": "X", "venue_id": 999999}, 404, "unknown_venue"),
    ({"code": "X", "venue_id": "HALL_B"}, 403, "venue_not_allowed"),
    ({"code": "X", "venue_id": "THEATRE", "event_id": 999999}, 404, "unknown_event"),
    ({"code": "X", "venue_id": "THEATRE", "adults": 5}, 400, "invalid_tickets"),
    (["not", "an", "object"], 400, "invalid_json"),
])
def test_a_malformed_check_answers_json_with_a_reason_code(world, api, body, status, code):
    if isinstance(body, dict):
        body = {k: ({"HALL_B": world.hall_b.id, "THEATRE": world.theatre.id}.get(v, v)
                    if k == "venue_id" else v) for k, v in body.items()}
    answer = api.post("/api/scan/check", body)
    assert answer.status_code == status
    error = answer.get_json()["error"]
    assert error["code"] == code and error["message"]


def test_the_api_requires_the_csrf_header(world, api):
    answer = api.post("/api/scan/check", {"code": "X", "venue_id": world.theatre.id}, token=False)
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "csrf_failed"


def test_the_api_answers_401_json_when_not_signed_in(world, client):
    answer = client.get("/api/scan/venues")
    assert answer.status_code == 401
    assert answer.get_json()["error"]["code"] == "login_required"


def test_an_issuer_may_not_use_the_scan_api(world, auth, client):
    auth.login("issuer-a")
    assert client.get("/api/scan/venues").status_code == 403


# redeem and annul

def test_redeem_records_a_visit_and_the_same_nonce_again_records_nothing_more(world, api):
    card = factories.card(world.a)
    db.session.commit()
    body = redeem_body(world, card, world.show)
    first, again = api.post("/api/scan/redeem", body), api.post("/api/scan/redeem", body)
    assert first.get_json()["verdict"] == "ok"
    assert first.get_json()["visit_id"] == again.get_json()["visit_id"] is not None
    [visit] = visits()
    assert visit.source == "camera"


def test_redeem_of_a_used_card_for_the_same_event_is_refused(world, api):
    card = factories.card(world.a)
    db.session.commit()
    api.post("/api/scan/redeem", redeem_body(world, card, world.show))
    second = api.post("/api/scan/redeem", redeem_body(world, card, world.show)).get_json()
    assert (second["verdict"], second["reason"], second["visit_id"]) == (
        "refused", "already_used", None)


@pytest.mark.parametrize("changes, code", [
    ({"nonce": "nope"}, "invalid_nonce"), ({"source": "psychic"}, "invalid_source"),
    ({"occurred_at": "yesterday"}, "invalid_occurred_at"),
    ({"occurred_at": "2026-01-01T10:00:00"}, "invalid_occurred_at"),
    ({"occurred_at": "2099-01-01T10:00:00+02:00"}, "invalid_occurred_at"),
])
def test_a_malformed_redeem_is_refused_and_records_nothing(world, api, changes, code):
    card = factories.card(world.a)
    db.session.commit()
    answer = api.post("/api/scan/redeem", redeem_body(world, card, **changes))
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == code
    assert visits() == []


def test_ones_own_record_can_be_undone_and_then_not_again(world, api):
    card = factories.card(world.a)
    db.session.commit()
    visit_id = api.post("/api/scan/redeem", redeem_body(world, card)).get_json()["visit_id"]
    assert api.post("/api/scan/annul", {"visit_id": visit_id, "reason": "mistake"}).get_json() \
        == {"ok": True}
    [visit] = visits()
    assert (visit.status, visit.annul_reason) == ("annulled", "mistake")
    again = api.post("/api/scan/annul", {"visit_id": visit_id, "reason": "mistake"})
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "already_annulled")


def test_a_record_older_than_fifteen_minutes_cannot_be_undone(world, api):
    card = factories.card(world.a)
    db.session.commit()
    visit_id = api.post("/api/scan/redeem", redeem_body(world, card)).get_json()["visit_id"]
    db.session.rollback()  # a fresh snapshot that sees the request's visit
    db.session.execute(sa.update(Visit).where(Visit.id == visit_id).values(
        recorded_at=datetime.now(UTC) - timedelta(minutes=16)))
    db.session.commit()
    answer = api.post("/api/scan/annul", {"visit_id": visit_id, "reason": "mistake"})
    assert (answer.status_code, answer.get_json()["error"]["code"]) == (409, "too_late")


def test_another_persons_record_cannot_be_undone(world, api, auth, client):
    card = factories.card(world.a)
    db.session.commit()
    visit_id = api.post("/api/scan/redeem", redeem_body(world, card)).get_json()["visit_id"]
    auth.logout()
    auth.login("coord-a")
    other = Api(client)
    answer = other.post("/api/scan/annul", {"visit_id": visit_id, "reason": "mistake"})
    assert (answer.status_code, answer.get_json()["error"]["code"]) == (403, "not_your_record")
    assert visits()[0].status == "ok"


# venues, today's list, offline bundle

def test_venues_lists_the_accounts_venues_with_todays_events_and_places_left(world, api):
    card = factories.card(world.a, children=2)
    db.session.commit()
    api.post("/api/scan/redeem", redeem_body(world, card, world.small_show, children=2))
    venues = api.get("/api/scan/venues").get_json()["venues"]
    assert [v["name"] for v in venues] == ["Opisto", "Teatteri"]
    theatre = next(v for v in venues if v["id"] == world.theatre.id)
    small = next(e for e in theatre["events"] if e["id"] == world.small_show.id)
    assert (small["quota"], small["left"]) == (10, 7)


def test_todays_list_shows_records_with_short_numbers_and_what_can_be_undone(world, api):
    card = factories.card(world.a)
    db.session.commit()
    api.post("/api/scan/redeem", redeem_body(world, card, world.show))
    [row] = api.get("/api/scan/today", venue_id=world.theatre.id).get_json()["visits"]
    assert row["card_number"] == format_number(card.number)
    assert (row["mine"], row["can_annul"], row["status"]) == (True, True, "ok")
    assert api.get("/api/scan/today", venue_id=world.hall_b.id).status_code == 403


def test_the_offline_bundle_carries_keys_rules_revocations_and_todays_records(world, api, app):
    active, gone = factories.card(world.a), factories.card(world.a, status="deactivated")
    local = factories.card(world.b, status="lost")
    db.session.commit()
    api.post("/api/scan/redeem", redeem_body(world, active, world.show))
    data = api.get("/api/scan/offline-bundle", venue_id=world.theatre.id).get_json()
    assert data["venue"]["id"] == world.theatre.id
    assert gone.number in data["revoked"] and local.number not in data["revoked"]
    assert set(data["regions"]) == {str(world.a.id)}  # B is local-only: not accepted here
    assert data["regions"][str(world.a.id)]["national_network"] is True
    assert [v["card_number"] for v in data["recent_visits"]] == [active.number]
    from base64 import b64decode

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    keys = {int(k): Ed25519PublicKey.from_public_bytes(b64decode(v))
            for k, v in data["keys"].items()}
    assert verify_payload(qr_payload(active), keys).number == active.number


# sync

def test_sync_records_each_offline_visit_once_and_a_second_sync_adds_none(world, api):
    cards = [factories.card(world.a) for _ in range(5)]
    db.session.commit()
    batch = [redeem_body(world, c, world.show, source="offline") for c in cards]
    first = api.post("/api/scan/sync", {"visits": batch}).get_json()["results"]
    again = api.post("/api/scan/sync", {"visits": batch}).get_json()["results"]
    assert [r["verdict"] for r in first] == ["ok"] * 5
    assert [r["visit_id"] for r in again] == [r["visit_id"] for r in first]
    assert [r["nonce"] for r in first] == [b["nonce"] for b in batch]
    assert len(visits()) == 5


def test_two_devices_admitting_one_card_to_one_event_offline_is_kept_and_flagged(world, api):
    card = factories.card(world.a)
    db.session.commit()
    api.post("/api/scan/sync", {"visits": [redeem_body(world, card, world.show, source="offline")]})
    [result] = api.post("/api/scan/sync", {"visits": [
        redeem_body(world, card, world.show, source="offline")]}).get_json()["results"]
    assert (result["verdict"], result["conflict"]) == ("ok", "already_used")
    first, second = visits()
    assert (first.conflict, second.conflict) == (None, "already_used")
    assert second.status == "ok"


def test_an_offline_record_is_judged_at_the_time_it_was_made(world, api, today):
    card = factories.card(world.a, valid_until=today - timedelta(days=1))
    db.session.commit()
    yesterday = (datetime.now(UTC) - timedelta(days=1, hours=1)).isoformat()
    [result] = api.post("/api/scan/sync", {"visits": [
        redeem_body(world, card, source="offline", occurred_at=yesterday)]}).get_json()["results"]
    assert (result["reason"], result["conflict"]) == ("ok", None)


def test_an_unverified_typed_number_of_no_card_is_refused_at_sync_and_stored_as_an_attempt(
        world, api):
    card = factories.card(world.a)
    db.session.commit()
    [result] = api.post("/api/scan/sync", {"visits": [
        {**redeem_body(world, card, source="offline"), "code": "ZZZZ-ZZZ-ZZZ",
         "verified": False}]}).get_json()["results"]
    assert (result["verdict"], result["reason"], result["visit_id"]) == (
        "refused", "unknown_card", None)
    assert visits() == []
    assert db.session.scalar(sa.select(sa.func.count(ScanAttempt.id))) == 1


def test_an_unverified_typed_number_of_a_card_is_recorded_as_unverified(world, api):
    card = factories.card(world.a)
    db.session.commit()
    api.post("/api/scan/sync", {"visits": [redeem_body(world, card, source="offline",
                                                       verified=False)]})
    [visit] = visits()
    assert visit.verified is False and visit.conflict is None


def test_synced_records_of_another_regions_card_are_refused_and_its_home_door_still_admits_it(
        world, api, auth):
    world.b.period_limit = 4
    card = factories.card(world.b)  # region B is local-only: region A's theatre never takes it
    db.session.commit()
    batch = [redeem_body(world, card, source="offline", verified=False,
                         occurred_at=(datetime.now(UTC) - timedelta(minutes=n)).isoformat())
             for n in range(1, 5)]
    results = api.post("/api/scan/sync", {"visits": batch}).get_json()["results"]
    assert [(r["verdict"], r["reason"], r["visit_id"], r["conflict"]) for r in results] == \
        [("refused", "wrong_region", None, None)] * 4
    assert visits() == []
    assert db.session.scalars(sa.select(ScanAttempt.reason)).all() == ["wrong_region"] * 4
    auth.logout()
    auth.login("box-b")
    home = Api(api.client).post("/api/scan/check", {"code": card.number,
                                                   "venue_id": world.hall_b.id}).get_json()
    assert (home["verdict"], home["reason"], home["uses_in_period"]) == ("ok", "ok", 0)


def test_the_offline_bundle_counts_no_flagged_record_until_it_is_kept(world, api):
    from app.manage.conflicts_service import resolve
    card = factories.card(world.a)
    db.session.commit()
    api.post("/api/scan/sync", {"visits": [redeem_body(world, card, world.small_show,
                                                       source="offline", children=2)]})
    [flagged] = visits()
    assert flagged.conflict == "too_many_children"

    def bundle():
        data = api.get("/api/scan/offline-bundle", venue_id=world.theatre.id).get_json()
        [left] = [e["left"] for e in data["events"] if e["id"] == world.small_show.id]
        return [v["card_number"] for v in data["recent_visits"]], left

    assert bundle() == ([], 10)
    resolve(world.users["coordinator"], flagged.id, "keep")
    assert bundle() == ([card.number], 7)


def test_a_bad_item_in_a_sync_answers_its_error_and_the_others_are_kept(world, api):
    card = factories.card(world.a)
    db.session.commit()
    results = api.post("/api/scan/sync", {"visits": [
        {"nonce": "x"}, redeem_body(world, card, source="offline"), "junk"]}).get_json()["results"]
    assert [r["verdict"] for r in results] == ["error", "ok", "error"]
    assert results[0]["error"]["code"] == "invalid_request"
    assert len(visits()) == 1


def test_a_sync_with_more_children_than_any_card_holds_in_the_middle_refuses_that_one_for_good(
        world, api):
    cards = [factories.card(world.a) for _ in range(5)]
    db.session.commit()
    batch = [redeem_body(world, c, world.show, source="offline") for c in cards]
    batch[2]["children"] = 101
    answer = api.post("/api/scan/sync", {"visits": batch})
    assert answer.status_code == 200
    results = answer.get_json()["results"]
    assert [(r["verdict"], r["final"]) for r in results] == [("ok", True)] * 2 + [
        ("error", True)] + [("ok", True)] * 2
    assert results[2]["error"]["code"] == "invalid_tickets" and results[2]["error"]["message"]
    assert {v.nonce for v in visits()} == {b["nonce"] for i, b in enumerate(batch) if i != 2}
    again = api.post("/api/scan/sync", {"visits": batch})
    assert (again.status_code, again.get_json()["results"]) == (200, results)
    assert len(visits()) == 4
    refused = db.session.scalar(sa.select(ScanAttempt).where(ScanAttempt.nonce == batch[2]["nonce"]))
    assert (refused.offline, refused.reason, refused.visit_id) == (True, "invalid_tickets", None)
    assert refused.card_number == cards[2].number


def test_a_database_error_in_one_synced_record_is_rolled_back_and_answered_not_final(
        world, api, monkeypatch):
    cards = [factories.card(world.a) for _ in range(3)]
    db.session.commit()
    batch = [redeem_body(world, c, world.show, source="offline") for c in cards]
    record_visit = service._record_visit

    def failing(user, req, *args):
        if req.nonce == batch[1]["nonce"]:
            # A check constraint the rules did not foresee, met in the middle of the record.
            db.session.execute(sa.update(Region).values(community_group_size=0))
        return record_visit(user, req, *args)
    monkeypatch.setattr(service, "_record_visit", failing)
    answer = api.post("/api/scan/sync", {"visits": batch})
    assert answer.status_code == 200
    results = answer.get_json()["results"]
    assert [r["verdict"] for r in results] == ["ok", "error", "ok"]
    assert (results[1]["error"]["code"], results[1]["final"]) == ("server_error", False)
    assert {v.nonce for v in visits()} == {batch[0]["nonce"], batch[2]["nonce"]}
    assert db.session.scalar(sa.select(sa.func.count(ScanAttempt.id))
                             .where(ScanAttempt.nonce == batch[1]["nonce"])) == 0
    monkeypatch.setattr(service, "_record_visit", record_visit)  # mended: the retry records it
    [retried] = api.post("/api/scan/sync", {"visits": batch[1:2]}).get_json()["results"]
    assert (retried["verdict"], retried["final"]) == ("ok", True)


def test_a_record_the_account_may_not_make_at_that_venue_is_not_final(world, api):
    card = factories.card(world.b)
    db.session.commit()
    [result] = api.post("/api/scan/sync", {"visits": [
        redeem_body(world, card, source="offline", venue_id=world.hall_b.id)]}).get_json()["results"]
    assert (result["verdict"], result["error"]["code"], result["final"]) == (
        "error", "venue_not_allowed", False)


def replaced_card(world):
    """A card replaced by a new one (its old printout still scans)."""
    old, new = factories.card(world.a, status="replaced"), factories.card(world.a)
    old.replaced_by = new
    return old


REPLAYS = {
    # online redeem: ok with an assistant allowed (1/0/1) and uses so far in the period
    "ok": lambda world: (factories.card(world.a), "camera", {}),
    # refused: already used for this event, with when and where
    "refused": lambda world: (factories.card(world.a), "camera", {"used": True}),
    # offline, recorded with a conflict
    "offline with a conflict": lambda world: (factories.card(world.a), "offline", {"used": True}),
    "replaced card": lambda world: (replaced_card(world), "camera", {}),
}


@pytest.mark.parametrize("case", REPLAYS)
def test_a_repeated_nonce_gets_the_whole_first_answer_again(world, api, case):
    card, source, how = REPLAYS[case](world)
    db.session.commit()
    if how.get("used"):
        api.post("/api/scan/redeem", redeem_body(world, card, world.show))
    body = redeem_body(world, card, world.show, source=source)

    def send():
        if source == "offline":
            answer = api.post("/api/scan/sync", {"visits": [body]})
            return answer.status_code, answer.get_json()["results"][0]
        answer = api.post("/api/scan/redeem", body)
        return answer.status_code, answer.get_json()
    first = send()
    if case == "ok":
        api.post("/api/scan/redeem", redeem_body(world, card))  # another use in the period
    assert send() == first
    status, answer = first
    assert status == 200
    assert answer["allowed"] == {"adults": 1, "children": 0, "assistants": 1, "persons": 2}
    expected = {"ok": ("ok", None), "refused": ("already_used", None),
                "offline with a conflict": ("already_used", "already_used"),
                "replaced card": ("replaced", None)}[case]
    assert (answer["reason"], answer["conflict"]) == expected
    if case == "replaced card":
        assert answer["replaced_by"] == format_number(card.replaced_by.number)
    if case in ("refused", "offline with a conflict"):
        assert answer["uses_in_period"] == 1 and answer["earlier_visit"]["this_event"] is True


def test_a_sync_of_more_than_five_hundred_records_is_refused(world, api):
    answer = api.post("/api/scan/sync", {"visits": [{}] * 501})
    assert (answer.status_code, answer.get_json()["error"]["code"]) == (413, "too_many_visits")


# limits and the document

def test_the_scan_api_limits_requests_per_account(world, auth, client, app):
    app.config["SCAN_RATE_LIMIT"] = "3 per minute"
    auth.login("box-a")
    answers = [client.get("/api/scan/venues").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert client.get("/api/scan/venues").get_json()["error"]["code"] == "rate_limited"
    auth.logout()
    auth.login("coord-a")
    assert client.get("/api/scan/venues").status_code == 200  # another account has its own count


def test_the_openapi_document_describes_every_scan_endpoint(client, app):
    document = client.get("/api/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    api_rules = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/scan/")}
    assert api_rules == set(document["paths"])
    reasons = document["components"]["schemas"]["Verdict"]["properties"]["reason"]["enum"]
    assert "already_used" in reasons and "bad_signature" in reasons


def test_an_online_record_takes_the_servers_time_not_a_wrong_phone_clock(world, api):
    card = factories.card(world.a)
    db.session.commit()
    a_day_behind = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    first = api.post("/api/scan/redeem", redeem_body(world, card, occurred_at=a_day_behind))
    second = api.post("/api/scan/redeem", redeem_body(world, card, occurred_at=a_day_behind))
    assert first.get_json()["verdict"] == "ok"
    assert second.get_json()["reason"] == "already_used"
    [visit] = visits()
    assert datetime.now(UTC) - visit.occurred_at < timedelta(minutes=1)


def test_one_nonce_in_another_spelling_is_the_same_record(world, api):
    card = factories.card(world.a)
    db.session.commit()
    body = redeem_body(world, card)
    first = api.post("/api/scan/redeem", body).get_json()
    shouted = api.post("/api/scan/redeem", {**body, "nonce": body["nonce"].upper()}).get_json()
    urn = api.post("/api/scan/redeem", {**body, "nonce": "urn:uuid:" + body["nonce"]}).get_json()
    assert first["visit_id"] == shouted["visit_id"] == urn["visit_id"]
    assert len(visits()) == 1


def test_a_cancelled_event_takes_no_new_records_online_but_keeps_offline_ones(world, api):
    card, other = factories.card(world.a), factories.card(world.a)
    world.show.active = False
    db.session.commit()
    online = api.post("/api/scan/redeem", redeem_body(world, card, world.show))
    assert (online.status_code, online.get_json()["error"]["code"]) == (409, "event_cancelled")
    [synced] = api.post("/api/scan/sync", {"visits": [
        redeem_body(world, other, world.show, source="offline")]}).get_json()["results"]
    assert synced["verdict"] == "ok"
    assert len(visits()) == 1


def test_the_openapi_document_lists_the_error_answers_a_harness_will_meet():
    from app.scan import openapi

    paths = openapi.document()["paths"]
    for path, operations in paths.items():
        for operation in operations.values():
            assert {"400", "401", "403", "413", "429", "503"} <= set(operation["responses"]), path
    for path in ("/api/scan/check", "/api/scan/redeem"):
        assert {"404", "409"} <= set(paths[path]["post"]["responses"])
