"""Managing staff accounts: roles and scopes, passwords, deactivation, who may (issue 6)."""
from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.manage.staff_service import Account, StaffError, checked_scope, new_password
from app.models import AuditEvent, LoginThrottle, User
from tests.conftest import Auth, csrf_token
from tests.support import factories

TYPED = "Kesäteatteri-2027"


@pytest.fixture
def english(client):
    """Pages in English, so that messages compare to their source text."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def coordinator(world, auth, english):
    """Region A's coordinator, signed in."""
    auth.login("coord-a")
    return world.users["coordinator"]


@pytest.fixture
def admin(world, auth, english):
    """The national administrator, signed in."""
    auth.login("admin1")
    return world.users["admin"]


@pytest.fixture
def device(app, client) -> Auth:
    """A second browser, e.g. the phone of the person whose account is managed."""
    return Auth(app.test_client())


def post(client, path: str, data: dict | None = None, **kwargs):
    """Post a form with the page's CSRF token, as a browser does."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, "/")},
                       **kwargs)


def text(response) -> str:
    """The response body as text."""
    return response.get_data(as_text=True)


def account(username: str) -> User | None:
    """The account with this username, as saved."""
    db.session.rollback()
    return db.session.scalar(sa.select(User).where(User.username == username))


def audits(action: str | None = None) -> list[AuditEvent]:
    """Audit events (of one action), oldest first."""
    db.session.rollback()
    query = sa.select(AuditEvent).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(db.session.scalars(query))


def staff_form(role: str, **scope) -> dict:
    """A new-account form: a username, a role, a typed password and the scope given."""
    data = {"username": "uusi.tili", "role": role, "region": "", "issuing_site": "",
            "password": TYPED}
    data.update({k: v for k, v in scope.items() if k != "venues"})
    if "venues" in scope:
        data["venues"] = [str(v) for v in scope["venues"]]
    return data


def shown_password(page: str) -> str:
    """The generated password a page shows."""
    return re.search(r'<code class="password">([^<]+)</code>', page).group(1)


def signed_in(client) -> bool:
    """Whether the client's session is signed in."""
    return client.get("/").status_code != 302


# Creating accounts, each role with its scope

def test_a_coordinator_creates_an_issuer_for_a_site_of_its_region(world, coordinator, client):
    response = post(client, "/manage/staff/new",
                    staff_form("issuer", region=world.a.id, issuing_site=world.site_a.id))
    user = account("uusi.tili")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/manage/staff/{user.id}/edit"
    assert (user.role, user.region_id, user.issuing_site_id, user.venues, user.active) == \
        ("issuer", world.a.id, world.site_a.id, [], True)
    assert user.check_password(TYPED) and TYPED not in user.password_hash


def test_a_coordinator_creates_a_box_office_for_venues_of_its_region(world, coordinator, client):
    post(client, "/manage/staff/new",
         staff_form("boxoffice", region=world.a.id, venues=[world.theatre.id, world.college.id]))
    user = account("uusi.tili")
    assert (user.role, user.region_id, user.issuing_site_id) == ("boxoffice", world.a.id, None)
    assert sorted(v.id for v in user.venues) == sorted([world.theatre.id, world.college.id])


def test_a_coordinator_creates_a_coordinator_for_its_region(world, coordinator, client):
    post(client, "/manage/staff/new", staff_form("coordinator", region=world.a.id))
    user = account("uusi.tili")
    assert (user.role, user.region_id, user.issuing_site_id, user.venues) == \
        ("coordinator", world.a.id, None, [])


def test_an_admin_creates_an_admin_without_scope_and_accounts_of_any_region(world, admin, client):
    post(client, "/manage/staff/new", staff_form("admin"))
    assert (account("uusi.tili").role, account("uusi.tili").region_id) == ("admin", None)
    post(client, "/manage/staff/new",
         staff_form("boxoffice", username="kassa.b", venues=[world.hall_b.id]))
    assert account("kassa.b").region_id == world.b.id


def test_creating_an_account_is_audited_with_codes_and_ids_only(world, coordinator, client):
    post(client, "/manage/staff/new",
         staff_form("boxoffice", region=world.a.id, venues=[world.theatre.id, world.college.id]))
    [record] = audits("user.create")
    user = account("uusi.tili")
    assert (record.actor_id, record.object_id, record.region_id) == \
        (world.users["coordinator"].id, user.id, world.a.id)
    assert record.details == {"role": "boxoffice", "site_id": None, "generated_password": False,
                              "venue_ids": f"{world.theatre.id},{world.college.id}"}


def test_a_created_box_office_account_can_log_in_and_open_the_scanner(world, coordinator, client,
                                                                     device):
    post(client, "/manage/staff/new", staff_form("boxoffice", region=world.a.id,
                                                 venues=[world.theatre.id]))
    assert device.login("uusi.tili", TYPED).status_code == 302
    assert device.client.get("/scan").status_code == 200


def test_without_a_typed_password_one_is_generated_and_shown_once(world, coordinator, client,
                                                                  device):
    response = post(client, "/manage/staff/new",
                    staff_form("issuer", issuing_site=world.site_a.id, password=""))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    password = shown_password(text(response))
    user = account("uusi.tili")
    assert len(password) >= 10 and user.check_password(password)
    assert password not in text(client.get(f"/manage/staff/{user.id}/edit"))
    assert device.login("uusi.tili", password).status_code == 302
    assert audits("user.create")[0].details["generated_password"] is True


def test_generated_passwords_are_long_random_and_without_look_alikes():
    passwords = {new_password() for _ in range(50)}
    assert len(passwords) == 50
    assert all(len(p) == 19 and not set(p) & set("01ilo") for p in passwords)


# Refusals

@pytest.mark.parametrize("username, message", [
    ("ab", "3–64 characters"),
    ("x" * 65, "3–64 characters"),
    ("matti virtanen", "3–64 characters"),
    ("ääkkönen", "3–64 characters"),
    ("", "Enter a username"),
    ("coord-b", "This username is taken"),
    ("  Coord-B ", "This username is taken"),
])
def test_a_wrong_or_taken_username_is_refused(world, coordinator, client, username, message):
    before = len(audits())
    response = post(client, "/manage/staff/new", staff_form("coordinator", region=world.a.id,
                                                            username=username))
    assert response.status_code == 400
    assert message in text(response) and 'id="username-error"' in text(response)
    assert len(audits()) == before


@pytest.mark.parametrize("password, message", [
    ("lyhyt", "From 10 to 256 characters"),
    ("x" * 257, "From 10 to 256 characters"),
    ("uusi.tili-salasana", "must not contain the username"),
])
def test_a_weak_typed_password_is_refused(world, coordinator, client, password, message):
    response = post(client, "/manage/staff/new",
                    staff_form("coordinator", region=world.a.id, password=password))
    assert response.status_code == 400
    assert message in text(response)
    assert account("uusi.tili") is None


@pytest.mark.parametrize("role, scope, field, message", [
    ("issuer", {}, "issuing_site", "needs its issuing site"),
    ("issuer", {"issuing_site": "site_a", "venues": ["theatre"]}, "venues", "Leave this empty"),
    ("issuer", {"issuing_site": "site_a", "region": "b"}, "issuing_site", "not in the region"),
    ("boxoffice", {}, "venues", "needs one or more venues"),
    ("boxoffice", {"venues": ["theatre", "hall_b"]}, "venues", "must be in one region"),
    ("boxoffice", {"venues": ["theatre"], "issuing_site": "site_a"}, "issuing_site",
     "Leave this empty"),
    ("boxoffice", {"venues": ["hall_b"], "region": "a"}, "venues", "not in the region"),
    ("coordinator", {}, "region", "needs its region"),
    ("coordinator", {"region": "a", "issuing_site": "site_a"}, "issuing_site", "Leave this empty"),
    ("admin", {"region": "a"}, "region", "Leave this empty"),
    ("admin", {"venues": ["theatre"]}, "venues", "Leave this empty"),
])
def test_a_scope_that_does_not_fit_the_role_is_refused(world, admin, client, role, scope, field,
                                                       message):
    objects = {"a": world.a, "b": world.b, "site_a": world.site_a, "theatre": world.theatre,
               "hall_b": world.hall_b}
    given = {k: [objects[n].id for n in v] if k == "venues" else objects[v].id
             for k, v in scope.items()}
    response = post(client, "/manage/staff/new", staff_form(role, **given))
    assert response.status_code == 400
    page = text(response)
    assert message in page and f'id="{field}-error"' in page
    assert account("uusi.tili") is None and audits("user.create") == []


def test_an_inactive_site_is_not_offered_for_a_new_account(world, coordinator, client):
    world.site_a.active = False
    db.session.commit()
    response = post(client, "/manage/staff/new", staff_form("issuer", issuing_site=world.site_a.id))
    assert response.status_code == 400
    assert account("uusi.tili") is None


@pytest.mark.parametrize("role, scope", [
    ("admin", {}),
    ("coordinator", {"region": "b"}),
    ("issuer", {"issuing_site": "site_b"}),
    ("boxoffice", {"venues": ["hall_b"]}),
])
def test_a_coordinator_cannot_create_an_admin_or_an_account_of_another_region(
        world, coordinator, client, role, scope):
    objects = {"b": world.b, "site_b": world.site_b, "hall_b": world.hall_b}
    given = {k: [objects[n].id for n in v] if k == "venues" else objects[v].id
             for k, v in scope.items()}
    response = post(client, "/manage/staff/new", staff_form(role, **given))
    assert response.status_code == 400
    assert "Not a valid choice" in text(response) or "not a valid choice" in text(response)
    assert account("uusi.tili") is None


@pytest.mark.parametrize("role, scope, code", [
    ("admin", {}, "admin_only"),
    ("coordinator", {"region_id": "b"}, "other_region"),
    ("issuer", {"site_id": "site_b"}, "other_region"),
    ("boxoffice", {"venue_ids": ("hall_b",)}, "other_region"),
])
def test_the_service_refuses_a_coordinator_what_the_form_does_not_offer(world, role, scope, code):
    objects = {"b": world.b, "site_b": world.site_b, "hall_b": world.hall_b}
    given = {k: tuple(objects[n].id for n in v) if k == "venue_ids" else objects[v].id
             for k, v in scope.items()}
    with pytest.raises(StaffError) as refused:
        checked_scope(world.users["coordinator"], Account(username="uusi.tili", role=role, **given))
    assert refused.value.code == code


def test_the_new_account_form_offers_a_coordinator_only_its_own_region(world, coordinator, client):
    page = text(client.get("/manage/staff/new"))
    assert world.site_a.name in page and world.theatre.name in page
    assert world.site_b.name not in page and world.hall_b.name not in page
    assert 'value="admin"' not in page


def selected_role(page: str) -> str | None:
    """The role the form's role list has chosen, if any."""
    select = re.search(r'<select[^>]*name="role"[^>]*>(.*?)</select>', page, re.S).group(1)
    chosen = re.search(r'<option[^>]*selected[^>]*value="([^"]*)"|'
                       r'<option[^>]*value="([^"]*)"[^>]*selected', select)
    return next((v for v in chosen.groups() if v is not None), None) if chosen else None


def test_a_new_account_has_no_role_until_one_is_chosen(world, coordinator, client):
    page = text(client.get("/manage/staff/new"))
    assert selected_role(page) in (None, "")
    assert re.search(r'<select[^>]*name="role"[^>]*>\s*<option[^>]*value=""', page)
    response = post(client, "/manage/staff/new", staff_form(""))
    assert response.status_code == 400
    assert "Choose the role." in text(response)
    assert account("uusi.tili") is None


def test_ticked_venues_without_a_role_suggest_the_box_office_and_choose_it(world, coordinator,
                                                                          client):
    form = staff_form("", venues=[world.theatre.id])
    response = post(client, "/manage/staff/new", form)
    page = text(response)
    assert response.status_code == 400 and account("uusi.tili") is None
    assert "Choose the role – box office suits the ticked venues." in page
    assert "Leave this empty" not in page
    assert selected_role(page) == "boxoffice"
    # One more press of the button, with what the page now shows, makes the account.
    post(client, "/manage/staff/new", {**form, "role": "boxoffice"})
    assert account("uusi.tili").role == "boxoffice"


def test_the_suggestion_is_in_finnish_on_a_finnish_page(world, coordinator, client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fi"
    page = text(post(client, "/manage/staff/new", staff_form("", venues=[world.theatre.id])))
    assert "Valitse rooli – lipunmyynti sopii valituille kohteille." in page


def test_a_chosen_site_without_a_role_suggests_the_issuer(world, coordinator, client):
    page = text(post(client, "/manage/staff/new", staff_form("", issuing_site=world.site_a.id)))
    assert "Choose the role – card issuer suits the chosen issuing site." in page
    assert selected_role(page) == "issuer"


def test_deactivating_an_account_asks_first_and_changes_nothing_until_confirmed(world, coordinator,
                                                                               client):
    box = world.users["boxoffice"]
    response = post(client, f"/manage/staff/{box.id}/active", {"active": "0"})
    page = text(response)
    assert response.status_code == 200
    assert "Deactivate the account box-a?" in page and 'name="confirmed" value="1"' in page
    assert f'action="/manage/staff/{box.id}/active"' in page
    assert account("box-a").active is True
    assert db.session.scalar(sa.select(AuditEvent.id)) is None
    post(client, f"/manage/staff/{box.id}/active", {"active": "0", "confirmed": "1"})
    assert account("box-a").active is False


# Changing an account

def test_an_issuer_becomes_a_box_office_with_venues_instead_of_a_site(world, coordinator, client):
    issuer = world.users["issuer"]
    response = post(client, f"/manage/staff/{issuer.id}/edit",
                    {"username": "issuer-a", "role": "boxoffice", "region": world.a.id,
                     "issuing_site": "", "venues": [str(world.college.id)]})
    assert response.status_code == 302
    user = account("issuer-a")
    assert (user.role, user.issuing_site_id, [v.id for v in user.venues]) == \
        ("boxoffice", None, [world.college.id])
    [record] = audits("user.update")
    assert record.details["changed"] == "issuing_site_id,role,venues"


def test_a_coordinator_cannot_change_its_own_role(world, coordinator, client):
    me = world.users["coordinator"]
    response = post(client, f"/manage/staff/{me.id}/edit",
                    {"username": "coord-a", "role": "issuer", "region": world.a.id,
                     "issuing_site": world.site_a.id})
    assert response.status_code == 400
    assert "your own account" in text(response)
    assert account("coord-a").role == "coordinator"


# Passwords

def test_a_password_reset_shows_the_new_password_once_and_the_old_one_stops_working(
        world, coordinator, client, device):
    box = world.users["boxoffice"]
    response = post(client, f"/manage/staff/{box.id}/password", {"password": ""})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    password = shown_password(text(response))
    assert password not in text(client.get(f"/manage/staff/{box.id}/edit"))
    assert device.login("box-a", factories.PASSWORD).status_code == 401
    assert device.login("box-a", password).status_code == 302
    [record] = audits("user.password_reset")
    assert record.details == {"generated_password": True, "unlocked": False, "devices_ended": 0}


def test_a_typed_password_reset_is_not_shown_again(world, coordinator, client, device):
    box = world.users["boxoffice"]
    response = post(client, f"/manage/staff/{box.id}/password", {"password": TYPED},
                    follow_redirects=True)
    assert "The password was changed." in text(response) and TYPED not in text(response)
    assert device.login("box-a", TYPED).status_code == 302


def test_a_too_short_typed_password_is_refused_and_the_old_one_still_works(world, coordinator,
                                                                          client, device):
    box = world.users["boxoffice"]
    response = post(client, f"/manage/staff/{box.id}/password", {"password": "lyhyt"})
    assert response.status_code == 400
    assert "From 10 to 256 characters" in text(response)
    assert device.login("box-a").status_code == 302
    assert audits("user.password_reset") == []


def test_a_password_reset_lifts_a_login_lock(world, coordinator, client, device):
    for _ in range(5):
        device.login("box-a", "wrong password")
    assert db.session.get(LoginThrottle, "user:box-a").locked_until is not None
    box = world.users["boxoffice"]
    post(client, f"/manage/staff/{box.id}/password", {"password": TYPED})
    device.client.environ_base["REMOTE_ADDR"] = "198.51.100.7"  # the address lock stays
    assert device.login("box-a", TYPED).status_code == 302
    assert audits("user.password_reset")[0].details["unlocked"] is True


def test_audit_details_never_hold_a_password(world, coordinator, client):
    post(client, "/manage/staff/new", staff_form("coordinator", region=world.a.id))
    user = account("uusi.tili")
    generated = shown_password(text(post(client, f"/manage/staff/{user.id}/password",
                                         {"password": ""})))
    post(client, f"/manage/staff/{user.id}/password", {"password": TYPED + "!"})
    records = audits()
    assert [r.action for r in records] == ["user.create", "user.password_reset",
                                           "user.password_reset"]
    for record in records:
        dumped = json.dumps(record.details)
        assert TYPED not in dumped and generated not in dumped and "pbkdf2" not in dumped
        assert all(isinstance(v, int | str | bool | None) for v in record.details.values())


# Deactivating

def test_a_deactivated_account_is_signed_out_and_cannot_log_in_again(world, coordinator, client,
                                                                     device):
    device.login("box-a")
    assert device.client.get("/scan").status_code == 200
    box = world.users["boxoffice"]
    response = post(client, f"/manage/staff/{box.id}/active", {"active": "0", "confirmed": "1"})
    assert response.status_code == 302
    assert account("box-a").active is False
    assert device.client.get("/scan").status_code == 302  # the open session ended
    assert device.login("box-a").status_code == 401
    assert [r.action for r in audits()] == ["user.deactivate"]


def test_deactivating_keeps_the_account_and_reactivating_lets_it_log_in(world, coordinator, client,
                                                                       device):
    box = world.users["boxoffice"]
    post(client, f"/manage/staff/{box.id}/active", {"active": "0", "confirmed": "1"})
    assert "<td>Deactivated</td>" in text(client.get("/manage/staff"))
    post(client, f"/manage/staff/{box.id}/active", {"active": "1"})
    assert account("box-a").active is True
    assert device.login("box-a").status_code == 302
    assert [r.action for r in audits()] == ["user.deactivate", "user.reactivate"]


def test_a_coordinator_cannot_deactivate_itself(world, coordinator, client):
    me = world.users["coordinator"]
    response = post(client, f"/manage/staff/{me.id}/active", {"active": "0", "confirmed": "1"},
                    follow_redirects=True)
    assert "You cannot deactivate your own account." in text(response)
    assert account("coord-a").active is True and audits() == []


# Who may

def staff_urls(user_id: int) -> list[tuple[str, str]]:
    """Every route that changes or shows one account, with its method."""
    return [("GET", f"/manage/staff/{user_id}/edit"), ("POST", f"/manage/staff/{user_id}/edit"),
            ("POST", f"/manage/staff/{user_id}/password"), ("POST", f"/manage/staff/{user_id}/active")]


@pytest.mark.parametrize("target", ["admin", "coordinator_b", "boxoffice_b"])
def test_a_coordinator_cannot_see_or_change_an_admin_or_another_regions_account(
        world, coordinator, client, target):
    user = world.users[target]
    token = csrf_token(client, "/")
    for method, url in staff_urls(user.id):
        response = client.open(url, method=method, data={
            "csrf_token": token, "active": "0", "confirmed": "1", "password": "", "username": "x-y-z",
            "role": "coordinator", "region": world.a.id})
        assert response.status_code == 404, (method, url)
    after = account(user.username)
    assert after.active is True and after.role == user.role and audits() == []


def test_the_list_shows_a_coordinator_only_its_own_regions_accounts(world, coordinator, client):
    page = text(client.get("/manage/staff"))
    for username in ("coord-a", "issuer-a", "box-a"):
        assert f">{username}</a>" in page
    for username in ("admin1", "coord-b", "box-b"):
        assert f">{username}</a>" not in page


def test_an_admin_lists_every_account_and_narrows_by_role(world, admin, client):
    page = text(client.get("/manage/staff"))
    assert all(f">{u.username}</a>" in page for u in world.users.values())
    page = text(client.get("/manage/staff?role=boxoffice"))
    assert ">box-a</a>" in page and ">box-b</a>" in page and ">coord-a</a>" not in page


@pytest.mark.parametrize("username", ["issuer-a", "box-a"])
def test_issuers_and_box_offices_are_forbidden_every_staff_route(world, auth, client, username):
    auth.login(username)
    token = csrf_token(client, "/")
    target = world.users["boxoffice"].id
    for method, url in [("GET", "/manage/staff"), ("GET", "/manage/staff/new"),
                        ("POST", "/manage/staff/new"), *staff_urls(target)]:
        response = client.open(url, method=method,
                               data={"csrf_token": token, "active": "0", "confirmed": "1"})
        assert response.status_code == 403, (method, url)
    assert account("box-a").active is True
