"""Every route × every role, from the application's URL map, against a reviewed matrix (§2).

MATRIX names each endpoint and the roles it admits. It is written out by hand and read by a
reviewer: a route missing from it fails the suite, and so does a view whose `@roles(...)`
disagrees with it. Each route is then requested as every role and as an anonymous visitor.
"""
from __future__ import annotations

import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from werkzeug.routing import Rule

from app import create_app
from app.cards.service import new_link_token
from app.extensions import db
from app.models import ROLES, Municipality, StaffSession, Visit
from app.scan.service import DoorRequest, redeem
from tests.conftest import Auth, ServerLikeClient, csrf_token
from tests.support import factories

ANONYMOUS = "anonymous"
VISITORS = (ANONYMOUS, *ROLES)
USERNAMES = {"admin": "admin1", "coordinator": "coord-a", "issuer": "issuer-a",
             "boxoffice": "box-a"}
PUBLIC = None  # anyone, signed in or not
EVERYONE = frozenset(ROLES)
MANAGERS = frozenset({"coordinator", "admin"})
SCANNING = frozenset({"boxoffice", "coordinator", "admin"})
ISSUER = frozenset({"issuer"})
ADMIN = frozenset({"admin"})

MATRIX: dict[str, frozenset[str] | None] = {
    # Pages that belong to no feature
    "static": PUBLIC,
    "site.index": EVERYONE,
    "site.set_language": PUBLIC,
    "site.healthz": PUBLIC,
    "auth.login": PUBLIC,
    "auth.logout": EVERYONE,
    "auth.devices": EVERYONE,
    "auth.end_device": EVERYONE,
    "auth.end_other_devices": EVERYONE,
    # Issuing (DESIGN §2: an issuer works on its own site's cards)
    "cards.register": ISSUER,
    "cards.handover": ISSUER,
    "cards.renew": ISSUER,
    "cards.replace": ISSUER,
    "cards.deactivate": ISSUER,
    "cards.undo_deactivation": ISSUER,
    "cards.new_link": ISSUER,
    "cards.search": frozenset({"issuer", "admin"}),
    "cards.show": frozenset({"issuer", "admin"}),
    "cards.card_pdf_view": frozenset({"issuer", "coordinator", "admin"}),
    "cards.blank_batch": frozenset({"coordinator"}),
    # The holder's digital card: behind its private link, no account (DESIGN §5)
    "holder.card": PUBLIC,
    "holder.manifest": PUBLIC,
    "holder.service_worker": PUBLIC,
    "holder.not_in_use": PUBLIC,
    # The box office's scanner and its API (DESIGN §6, §7)
    "scan.scanner": SCANNING,
    "scan.manifest": PUBLIC,
    "scan.service_worker": PUBLIC,
    "scan_api.openapi_document": PUBLIC,
    "scan_api.scan_check": SCANNING,
    "scan_api.scan_redeem": SCANNING,
    "scan_api.scan_annul": SCANNING,
    "scan_api.scan_venues": SCANNING,
    "scan_api.scan_offline_bundle": SCANNING,
    "scan_api.scan_sync": SCANNING,
    "scan_api.scan_today": SCANNING,
    # Management: a coordinator its region, an admin all (DESIGN §2)
    "manage.index": MANAGERS,
    "manage.regions": MANAGERS,
    "manage.region_new": ADMIN,  # joining the national network is national coordination's call
    "manage.region_edit": MANAGERS,  # a coordinator its own region's names and rules
    "manage.region_active": ADMIN,  # so is taking a region out of use
    "manage.municipalities": MANAGERS,
    "manage.municipality_new": MANAGERS,
    "manage.municipality_edit": MANAGERS,
    "manage.municipality_active": MANAGERS,
    "manage.sites": MANAGERS,
    "manage.site_new": MANAGERS,
    "manage.site_edit": MANAGERS,
    "manage.site_active": MANAGERS,
    "manage.venues": MANAGERS,
    "manage.venue_new": MANAGERS,
    "manage.venue_edit": MANAGERS,
    "manage.venue_active": MANAGERS,
    "manage.events": MANAGERS,
    "manage.event_new": MANAGERS,
    "manage.event_series_new": MANAGERS,
    "manage.event_edit": MANAGERS,
    "manage.event_active": MANAGERS,
    "manage.staff": MANAGERS,
    "manage.staff_new": MANAGERS,
    "manage.staff_edit": MANAGERS,
    "manage.staff_active": MANAGERS,
    "manage.staff_password": MANAGERS,
    "manage.staff_end_device": MANAGERS,
    "manage.staff_end_devices": MANAGERS,
    "manage.audit": MANAGERS,
    "manage.audit_csv": MANAGERS,
    "manage.conflicts": MANAGERS,
    "manage.conflict_resolve": MANAGERS,
    "manage.refused": MANAGERS,
    # Statistics: a coordinator its region, an admin any region or the country (DESIGN §8)
    "stats.dashboard": MANAGERS,
    "stats.table_csv": MANAGERS,
    "stats.table_xlsx": MANAGERS,
    "stats.workbook": MANAGERS,
    "stats.summary": MANAGERS,
}
# A page's normal answer to an admitted visitor when it is not 200 ("*": everyone).
ANSWERS: dict[str, dict[str, int]] = {
    "site.index": {"boxoffice": 302},  # the box office's start page is its scanner
    "site.set_language": {"*": 302},  # back to where the person was
    "auth.login": {"*": 302, ANONYMOUS: 200},  # a signed-in person is sent home
    "holder.not_in_use": {"*": 404},  # a card link that opens no card, for anyone
}


@dataclass
class Sample:
    """One of each thing a URL can name, in region A, where the signed-in accounts work."""

    world: factories.World
    card: object
    token: str
    conflict: Visit
    visit: Visit

    @property
    def municipality_id(self) -> int:
        """Region A's municipality."""
        return db.session.scalar(sa.select(Municipality.id).where(
            Municipality.region_id == self.world.a.id))

    @property
    def issuer_session_id(self) -> int:
        """The signed-in issuer's device (the visitors are signed in before any URL is made)."""
        db.session.rollback()  # see the rows the logins committed
        return db.session.scalar(sa.select(sa.func.min(StaffSession.id)).where(
            StaffSession.user_id == self.world.users["issuer"].id))


# A value for each URL argument, by name.
ARGUMENTS = {
    "filename": lambda s: "css/app.css",
    "code": lambda s: "fi",
    "number": lambda s: s.card.number,
    "token": lambda s: s.token,
    "visit_id": lambda s: s.conflict.id,
    "region_id": lambda s: s.world.a.id,
    "municipality_id": lambda s: s.municipality_id,
    "site_id": lambda s: s.world.site_a.id,
    "venue_id": lambda s: s.world.theatre.id,
    "event_id": lambda s: s.world.show.id,
    "user_id": lambda s: s.world.users["issuer"].id,
    "session_id": lambda s: s.issuer_session_id,
    "table": lambda s: "months",
    "rest": lambda s: "no/card/here",
}
# Query strings some GET routes need for their normal answer.
QUERIES = {
    "scan_api.scan_offline_bundle": lambda s: {"venue_id": s.world.theatre.id},
    "scan_api.scan_today": lambda s: {"venue_id": s.world.theatre.id},
}


def redeem_body(s: Sample) -> dict:
    """A redeem the door would accept."""
    return {"code": s.card.number, "venue_id": s.world.theatre.id, "event_id": s.world.show.id,
            "adults": 1, "children": 0, "assistants": 0, "nonce": str(uuid.uuid4()),
            "occurred_at": datetime.now(UTC).isoformat(), "source": "camera"}


# Bodies that would change something if the gate let them through: a refusal must come first.
BODIES = {
    "cards.register": lambda s: {"municipality": s.municipality_id, "postcode": "33100",
                                 "birth_year": "1980", "children": "0", "kind": "personal",
                                 "gender": "not_given", "life_situation": "not_given"},
    "cards.deactivate": lambda s: {"reason": "misuse"},
    "cards.replace": lambda s: {"reason": "lost"},
    "cards.blank_batch": lambda s: {"count": "1"},
    "scan_api.scan_check": lambda s: {"code": s.card.number, "venue_id": s.world.theatre.id},
    "scan_api.scan_redeem": redeem_body,
    "scan_api.scan_annul": lambda s: {"visit_id": s.visit.id, "reason": "mistake"},
    "scan_api.scan_sync": lambda s: {"visits": [{**redeem_body(s), "source": "offline"}]},
    "manage.conflict_resolve": lambda s: {f"visit-{s.conflict.id}-resolution": "annul",
                                          f"visit-{s.conflict.id}-reason": "conflict"},
    "manage.region_active": lambda s: {"active": "0", "confirmed": "1"},
    "manage.municipality_active": lambda s: {"active": "0", "confirmed": "1"},
    "manage.site_active": lambda s: {"active": "0", "confirmed": "1"},
    "manage.venue_active": lambda s: {"active": "0", "confirmed": "1"},
    "manage.event_active": lambda s: {"active": "0", "confirmed": "1"},
    "manage.staff_active": lambda s: {"active": "0", "confirmed": "1"},
    "manage.staff_password": lambda s: {"password": "a new password for the test"},
    "manage.municipality_new": lambda s: {"region": s.world.a.id, "name": "Uusikunta"},
    "manage.municipality_edit": lambda s: {"region": s.world.a.id, "name": "Toinen nimi"},
    "manage.site_new": lambda s: {"region": s.world.a.id, "name": "Uusi paikka", "kind": "ngo"},
    "manage.venue_new": lambda s: {"region": s.world.a.id, "name": "Uusi sali",
                                   "category": "culture", "art_form": "theatre"},
    "manage.staff_new": lambda s: {"username": "intruder", "role": "coordinator",
                                   "region": s.world.a.id, "password": "a long enough password"},
}


def _route_app():
    keys = tempfile.mkdtemp(prefix="kaiku-matrix-keys-")
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                       "SIGNING_KEY_DIR": keys})


ROUTES: list[Rule] = sorted(_route_app().url_map.iter_rules(), key=lambda r: (r.endpoint, r.rule))


def methods(rule: Rule) -> list[str]:
    """The methods a route answers, besides the automatic HEAD and OPTIONS."""
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def checked(endpoint: str, method: str, who: str) -> bool:
    """Whether the matrix checks this: every GET; a POST only where it must be refused."""
    if method == "GET" or endpoint not in MATRIX:
        return True
    admitted = MATRIX[endpoint]
    return admitted is not PUBLIC and (who == ANONYMOUS or who not in admitted)


CASES = [pytest.param(rule.rule, rule.endpoint, method, who,
                      id=f"{rule.endpoint}-{method}-{who}")
         for rule in ROUTES for method in methods(rule) for who in VISITORS
         if checked(rule.endpoint, method, who)]


@pytest.fixture(scope="module")
def matrix_app(postgres_url, tmp_path_factory):
    """One application and database for the whole matrix: it only reads, or is refused."""
    tmp = tmp_path_factory.mktemp("matrix")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KAIKU_INSTANCE", str(tmp / "instance"))
        app = create_app({"TESTING": True, "LOGIN_LOCK_SECONDS": 60,
                          "SQLALCHEMY_DATABASE_URI": postgres_url or f"sqlite:///{tmp / 'm.db'}",
                          "SIGNING_KEY_DIR": str(tmp / "keys")})
    app.test_client_class = ServerLikeClient
    with app.app_context():
        db.drop_all()
        db.create_all()
        yield app
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture(scope="module")
def sample(matrix_app) -> Sample:
    """A seeded world with a card (and its holder link), a visit and an offline conflict."""
    world = factories.World.build()
    card = factories.card(world.a, site=world.site_a)
    token = new_link_token(card)
    db.session.commit()
    box = world.users["boxoffice"]
    first, second = (redeem(box, DoorRequest(
        code=card.number, venue_id=world.theatre.id, event_id=world.show.id,
        nonce=str(uuid.uuid4()), occurred_at=datetime.now(UTC), source="offline"), offline=True)
        for _ in range(2))
    visit, conflict = db.session.get(Visit, first.visit_id), db.session.get(Visit, second.visit_id)
    assert conflict.conflict == "already_used"
    return Sample(world, card, token, conflict, visit)


@pytest.fixture(scope="module")
def visitors(matrix_app, sample) -> dict[str, tuple[ServerLikeClient, str]]:
    """A client and its CSRF token for each role, signed in, and one for an anonymous visitor."""
    clients = {}
    for who in VISITORS:
        client = matrix_app.test_client()
        if who != ANONYMOUS:
            assert Auth(client).login(USERNAMES[who]).status_code == 302
        clients[who] = (client, csrf_token(client, "/login" if who == ANONYMOUS else "/"))
    return clients


def url_for_rule(rule: Rule, s: Sample) -> str:
    """The path of a route with a valid value for each of its arguments."""
    unknown = sorted(set(rule.arguments) - ARGUMENTS.keys())
    assert not unknown, f"no example value for {unknown} of {rule.endpoint}: add it to ARGUMENTS"
    return rule.build({name: ARGUMENTS[name](s) for name in rule.arguments})[1]


def database_state() -> dict[str, list]:
    """Every row of every table (the world is small), to show that nothing changed.

    When a signed-in device was last used is left out: noting it is no change by the request.
    """
    db.session.rollback()
    return {table.name: sorted(repr(tuple(row)) for row in db.session.execute(
        sa.select(*(c for c in table.columns if c is not StaffSession.__table__.c.last_seen_at))))
            for table in db.metadata.sorted_tables}


def expected_answer(endpoint: str, who: str, path: str) -> int:
    """The status the matrix expects for one visitor at one route."""
    admitted = MATRIX[endpoint]
    if admitted is not PUBLIC and who == ANONYMOUS:
        return 401 if path.startswith("/api/") else 302
    if admitted is not PUBLIC and who not in admitted:
        return 403
    answers = ANSWERS.get(endpoint, {})
    return answers.get(who, answers.get("*", 200))


def send(client, token: str, method: str, path: str, endpoint: str, s: Sample, query: dict):
    """Request a route as a browser or the scanner would, with a valid CSRF token."""
    if method == "GET":
        return client.get(path, query_string=query)
    body = BODIES.get(endpoint, lambda _s: {})(s)
    if path.startswith("/api/"):
        return client.open(path, method=method, json=body, headers={"X-CSRFToken": token})
    return client.open(path, method=method, data={**body, "csrf_token": token})


@pytest.mark.parametrize(("rule_text", "endpoint", "method", "who"), CASES)
def test_each_route_answers_each_visitor_as_the_matrix_says(matrix_app, sample, visitors,
                                                            rule_text, endpoint, method, who):
    if endpoint not in MATRIX:
        pytest.fail(f"{endpoint} is not in the permission matrix: add it to the matrix")
    rule = next(r for r in matrix_app.url_map.iter_rules()
                if r.rule == rule_text and r.endpoint == endpoint)
    path = url_for_rule(rule, sample)
    query = QUERIES.get(endpoint, lambda _s: {})(sample)
    client, token = visitors[who]
    before = database_state() if method != "GET" else None
    with send(client, token, method, path, endpoint, sample, query) as response:
        expected = expected_answer(endpoint, who, path)
        assert response.status_code == expected, f"{method} {path} as {who}"
        if expected == 302 and who == ANONYMOUS and MATRIX[endpoint] is not PUBLIC:
            assert response.headers["Location"].startswith("/login?next="), path
        if expected in (401, 403) and path.startswith("/api/"):
            assert response.get_json()["error"]["code"] in {"login_required", "forbidden"}
    if before is not None:
        assert database_state() == before, f"a refused {method} {path} as {who} changed data"


def test_every_route_is_in_the_permission_matrix(matrix_app):
    endpoints = {rule.endpoint for rule in matrix_app.url_map.iter_rules()}
    missing = sorted(endpoints - MATRIX.keys())
    assert missing == [], f"routes without a reviewed entry, add them to the matrix: {missing}"


def test_the_matrix_names_no_route_that_is_gone(matrix_app):
    assert sorted(MATRIX.keys() - matrix_app.view_functions.keys()) == []


def test_the_matrix_agrees_with_the_roles_each_view_declares(matrix_app):
    disagreements = []
    for endpoint, admitted in MATRIX.items():
        view = matrix_app.view_functions.get(endpoint)
        if view is None:
            continue
        public = getattr(view, "is_public", False) or endpoint == "static"
        declared = PUBLIC if public else getattr(view, "allowed_roles", frozenset())
        if declared != admitted:
            disagreements.append((endpoint, declared, admitted))
    assert disagreements == [], f"(endpoint, the view says, the matrix says): {disagreements}"


def test_the_matrix_checks_every_role_and_the_anonymous_visitor_at_every_page():
    pages = {rule.endpoint for rule in ROUTES if "GET" in rule.methods}
    seen = {(p.values[1], p.values[3]) for p in CASES if p.values[2] == "GET"}
    assert {(endpoint, who) for endpoint in pages for who in VISITORS} <= seen


def test_only_managers_are_admitted_to_management_and_statistics():
    managing = {endpoint: admitted for endpoint, admitted in MATRIX.items()
                if endpoint.startswith(("manage.", "stats."))}
    assert managing and all(admitted and admitted <= MANAGERS for admitted in managing.values())
