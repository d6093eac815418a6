"""Managing regions and their rules, municipalities, issuing sites and venues (issue "Management")."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from app import rules
from app.extensions import db
from app.manage import places_service
from app.models import AuditEvent, IssuingSite, Municipality, Region, Venue
from app.scan.service import DoorRequest, check, redeem
from tests.conftest import csrf_token
from tests.support import factories


@pytest.fixture(autouse=True)
def english(client):
    """Pages in English, the source language of the messages."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def admin(world, auth):
    """The national administrator, signed in."""
    auth.login("admin1")
    return world.users["admin"]


@pytest.fixture
def coordinator(world, auth):
    """Region A's coordinator, signed in."""
    auth.login("coord-a")
    return world.users["coordinator"]


def post(client, path: str, data: dict | None = None, **kwargs):
    """Post a form with the page's CSRF token, as a browser does."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, "/")},
                       **kwargs)


def text(response) -> str:
    """The response body as text."""
    return response.get_data(as_text=True)


def fresh(model: type, object_id: int):
    """An object as the database now has it."""
    db.session.rollback()
    return db.session.get(model, object_id)


def audit_events() -> list[AuditEvent]:
    """The audit trail, oldest first."""
    db.session.rollback()
    return list(db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)))


def assert_no_free_text(event: AuditEvent, *names: str) -> None:
    """Details are codes, numbers, flags and field names, never a name that was typed."""
    values = [v for value in event.details.values()
              for v in (value if isinstance(value, list) else [value])]
    assert all(isinstance(v, int | bool | str) or v is None for v in values)
    for name in names:
        assert name not in repr(event.details)


def rules_form(**changes) -> dict:
    """The rules form as a coordinator posts it, with the default rules."""
    data = {"national_network": "True", "validity": "months", "validity_months": "12",
            "period_limit": "", "period": "month", "community_group_size": "10"}
    return {**data, **changes}


def region_form(**changes) -> dict:
    """The admin's region form for a new region CCC."""
    data = {"code": "CCC", "name_fi": "Alue C", "name_sv": "", "name_en": "",
            "min_age": "16", "child_max_age": "17", **rules_form()}
    return {**data, **changes}


@dataclass(frozen=True)
class Kind:
    """One kind of place: where it lives, and a valid form for it."""

    noun: str
    path: str
    model: type
    form: dict
    edit: dict


KINDS = {
    "municipality": Kind("municipality", "/manage/municipalities", Municipality,
                         {"name": "Uusikunta"}, {"name": "Vanhakunta"}),
    "site": Kind("site", "/manage/sites", IssuingSite,
                 {"name": "Järjestö X", "kind": "ngo"}, {"name": "Järjestö Y", "kind": "health"}),
    "venue": Kind("venue", "/manage/venues", Venue,
                  {"name": "Museo", "category": "culture", "art_form": "museum",
                   "default_quota": "5"},
                  {"name": "Tanssisali", "category": "sports", "art_form": "dance",
                   "default_quota": ""}),
}


def place_of(world, noun: str, region: str = "a"):
    """The world's place of this kind in region a or b."""
    return {("municipality", "a"): lambda: municipality(world.a),
            ("municipality", "b"): lambda: municipality(world.b),
            ("site", "a"): lambda: world.site_a, ("site", "b"): lambda: world.site_b,
            ("venue", "a"): lambda: world.theatre, ("venue", "b"): lambda: world.hall_b,
            }[noun, region]()


def municipality(region: Region) -> Municipality:
    """The first municipality of a region."""
    return db.session.scalar(sa.select(Municipality).where(Municipality.region_id == region.id))


def places(kind: Kind) -> list:
    """Every place of a kind."""
    db.session.rollback()
    return list(db.session.scalars(sa.select(kind.model).order_by(kind.model.id)))


def door_check(user, card, venue, event=None) -> str:
    """The door's verdict now, as the scanner would get it."""
    db.session.rollback()
    return check(user, DoorRequest(code=card.number, venue_id=venue.id,
                                   event_id=event.id if event else None)).reason


# Who may do what

PLACE_ENDPOINTS = ["municipalities", "municipality_new", "municipality_edit", "municipality_active",
                   "sites", "site_new", "site_edit", "site_active",
                   "venues", "venue_new", "venue_edit", "venue_active", "regions", "region_edit"]


@pytest.mark.parametrize("endpoint", PLACE_ENDPOINTS)
def test_place_and_rules_views_admit_coordinators_and_admins(app, endpoint):
    assert app.view_functions[f"manage.{endpoint}"].allowed_roles == {"coordinator", "admin"}


@pytest.mark.parametrize("endpoint", ["region_new", "region_active"])
def test_adding_and_switching_off_regions_is_for_admins_only(app, endpoint):
    assert app.view_functions[f"manage.{endpoint}"].allowed_roles == {"admin"}


@pytest.mark.parametrize("username", ["issuer-a", "box-a"])
@pytest.mark.parametrize("method, path", [
    ("get", "/manage/regions"), ("get", "/manage/regions/new"), ("post", "/manage/regions/new"),
    ("get", "/manage/regions/1/edit"), ("post", "/manage/regions/1/active"),
    ("get", "/manage/municipalities"), ("post", "/manage/municipalities/new"),
    ("get", "/manage/sites/1/edit"), ("post", "/manage/sites/1/active"),
    ("get", "/manage/venues"), ("post", "/manage/venues/1/edit"),
    ("post", "/manage/venues/1/active"),
])
def test_issuers_and_box_offices_may_not_manage_places(world, auth, client, username, method,
                                                        path):
    auth.login(username)
    response = post(client, path) if method == "post" else client.get(path)
    assert response.status_code == 403


def test_the_management_index_links_to_the_place_and_rules_screens(world, coordinator, client):
    page = text(client.get("/manage/"))
    for path in ("/manage/regions", "/manage/municipalities", "/manage/sites", "/manage/venues"):
        assert f'href="{path}"' in page


# Regions (admin)

def test_an_admin_sees_every_region_and_a_link_to_add_one(world, admin, client):
    page = text(client.get("/manage/regions"))
    assert "Region AAA" in page and "Region BBB" in page
    assert 'href="/manage/regions/new"' in page
    assert "national network" in page and "local only" in page


def test_an_admin_adds_a_region_whose_other_names_default_to_the_finnish_one(world, admin, client):
    response = post(client, "/manage/regions/new",
                    region_form(code=" ccc ", period_limit="4", period="year"))
    assert response.status_code == 302
    assert response.headers["Location"] == "/manage/regions"
    region = db.session.scalar(sa.select(Region).where(Region.code == "CCC"))
    assert (region.name_fi, region.name_sv, region.name_en) == ("Alue C", "Alue C", "Alue C")
    assert (region.period_limit, region.period, region.active) == (4, "year", True)
    [event] = audit_events()
    assert (event.action, event.object_id, event.region_id, event.actor_id) == \
        ("region.create", region.id, region.id, admin.id)
    assert event.details["code"] == "CCC" and event.details["period_limit"] == 4
    assert_no_free_text(event, "Alue C")


def test_an_admin_changes_a_regions_names_code_age_limits_and_rules(world, admin, client):
    response = post(client, f"/manage/regions/{world.b.id}/edit", region_form(
        code="BBB2", name_fi="Uusi B", name_sv="Nya B", name_en="New B", min_age="18",
        child_max_age="15", validity="calendar_year", community_group_size="12"))
    assert response.status_code == 302
    region = fresh(Region, world.b.id)
    assert (region.code, region.name_fi, region.name_sv, region.name_en) == \
        ("BBB2", "Uusi B", "Nya B", "New B")
    assert (region.min_age, region.child_max_age, region.validity, region.national_network,
            region.community_group_size) == (18, 15, "calendar_year", True, 12)
    [event] = audit_events()
    assert event.action == "region.update" and event.region_id == world.b.id
    assert set(event.details["changed"]) == {"code", "name_fi", "name_sv", "name_en", "min_age",
                                             "child_max_age", "national_network", "validity",
                                             "community_group_size"}
    assert_no_free_text(event, "Uusi B", "Nya B", "New B")


def test_the_admins_region_form_is_filled_with_the_regions_values(world, admin, client):
    world.a.period_limit = 3
    db.session.commit()
    page = text(client.get(f"/manage/regions/{world.a.id}/edit"))
    assert 'name="code"' in page and 'value="AAA"' in page
    assert re.search(r'name="period_limit"[^>]*value="3"', page)
    assert 'name="min_age"' in page and 'name="child_max_age"' in page


def test_a_region_code_already_taken_is_a_field_error_and_nothing_is_saved(world, admin, client):
    response = post(client, "/manage/regions/new", region_form(code="bbb"))
    assert response.status_code == 400
    assert "Another region already has this code." in text(response)
    assert db.session.scalar(sa.select(sa.func.count(Region.id))) == 2
    assert audit_events() == []


@pytest.mark.parametrize("field, value, message", [
    ("code", "", "2 to 16 letters"),
    ("code", "C", "2 to 16 letters"),
    ("code", "AB-C", "2 to 16 letters"),
    ("code", "ÅÄÖ", "2 to 16 letters"),
    ("code", "A" * 17, "2 to 16 letters"),
    ("name_fi", " ", "Enter the name in Finnish."),
    ("name_sv", "x" * 121, "At most 120 characters."),
    ("validity", "weekly", "Choose how long cards are valid."),
    ("validity_months", "0", "from 1 to 60"),
    ("validity_months", "61", "from 1 to 60"),
    ("validity_months", "twelve", "from 1 to 60"),
    ("validity_months", "", "from 1 to 60"),
    ("period_limit", "0", "from 1 to 100"),
    ("period_limit", "101", "from 1 to 100"),
    ("period_limit", "four", "from 1 to 100"),
    ("period", "week", "Choose month or year."),
    ("community_group_size", "0", "from 1 to 100"),
    ("community_group_size", "101", "from 1 to 100"),
    ("community_group_size", "", "from 1 to 100"),
    ("min_age", "", "from 0 to 120"),
    ("min_age", "121", "from 0 to 120"),
    ("child_max_age", "18", "from 0 to 17"),
])
def test_a_wrong_region_field_is_named_with_what_to_fix_and_nothing_is_saved(
        world, admin, client, field, value, message):
    response = post(client, "/manage/regions/new", region_form(**{field: value}))
    assert response.status_code == 400
    page = text(response)
    assert f'id="{field}-error"' in page and message in page
    assert db.session.scalar(sa.select(Region).where(Region.code == "CCC")) is None
    assert audit_events() == []


def test_an_admin_deactivates_and_reactivates_a_region_keeping_it(world, admin, client):
    path = f"/manage/regions/{world.b.id}/active"
    assert post(client, path, {"active": "0", "confirmed": "1"}).status_code == 302
    assert fresh(Region, world.b.id).active is False
    page = text(client.get("/manage/regions"))
    assert 'class="inactive"' in page and "Reactivate" in page
    post(client, path, {"active": "1"})
    assert fresh(Region, world.b.id).active is True
    assert [(e.action, e.region_id) for e in audit_events()] == \
        [("region.deactivate", world.b.id), ("region.reactivate", world.b.id)]


# Region rules (coordinator)

def test_a_coordinator_sees_its_own_region_and_rules_form_only(world, coordinator, client):
    page = text(client.get("/manage/regions"))
    assert "Region AAA" in page and "Region BBB" not in page
    assert 'href="/manage/regions/new"' not in page
    assert f'action="/manage/regions/{world.a.id}/edit"' in page
    assert 'name="period_limit"' in page and 'name="national_network"' in page
    assert 'name="min_age"' not in page and 'name="code"' not in page


def test_a_coordinator_changes_the_rules_and_the_change_is_audited(world, coordinator, client):
    response = post(client, f"/manage/regions/{world.a.id}/edit", rules_form(
        national_network="False", validity="calendar_year", validity_months="6",
        period_limit="4", period="year", community_group_size="15"))
    assert response.status_code == 302
    region = fresh(Region, world.a.id)
    assert (region.national_network, region.validity, region.validity_months,
            region.period_limit, region.period, region.community_group_size) == \
        (False, "calendar_year", 6, 4, "year", 15)
    [event] = audit_events()
    assert (event.action, event.actor_id, event.region_id, event.object_id) == \
        ("region.rules", coordinator.id, world.a.id, world.a.id)
    assert sorted(event.details["changed"]) == sorted(
        ["national_network", "validity", "validity_months", "period_limit", "period",
         "community_group_size"])
    assert event.details["period_limit"] == 4 and event.details["national_network"] is False
    assert_no_free_text(event, "Alue AAA")


def test_saving_the_rules_unchanged_writes_no_audit_event(world, coordinator, client):
    response = post(client, f"/manage/regions/{world.a.id}/edit", rules_form())
    assert response.status_code == 302
    assert audit_events() == []


def test_a_period_limit_left_empty_means_no_limit(world, coordinator, client):
    world.a.period_limit = 4
    db.session.commit()
    post(client, f"/manage/regions/{world.a.id}/edit", rules_form(period_limit=""))
    assert fresh(Region, world.a.id).period_limit is None


def test_months_may_be_left_empty_when_cards_run_to_the_end_of_the_year(world, coordinator,
                                                                         client):
    response = post(client, f"/manage/regions/{world.a.id}/edit",
                    rules_form(validity="calendar_year", validity_months=""))
    assert response.status_code == 302
    region = fresh(Region, world.a.id)
    assert (region.validity, region.validity_months) == ("calendar_year", 12)


@pytest.mark.parametrize("field, value, message", [
    ("validity_months", "0", "from 1 to 60"),
    ("validity_months", "", "from 1 to 60"),
    ("period_limit", "-3", "from 1 to 100"),
    ("period_limit", "٤", "from 1 to 100"),  # int() reads Arabic-Indic ٤ as 4
    ("community_group_size", "200", "from 1 to 100"),
    ("national_network", "", "Choose where the cards are valid."),
])
def test_a_wrong_rule_is_named_on_the_coordinators_page(world, coordinator, client, field, value,
                                                        message):
    response = post(client, f"/manage/regions/{world.a.id}/edit", rules_form(**{field: value}))
    assert response.status_code == 400
    page = text(response)
    assert message in page and "Check the fields marked below." in page
    assert audit_events() == []


def test_a_coordinator_cannot_change_the_code_names_or_age_limits(world, coordinator, client):
    post(client, f"/manage/regions/{world.a.id}/edit",
         rules_form(min_age="10", child_max_age="5", code="HACK", name_fi="Muu"))
    region = fresh(Region, world.a.id)
    assert (region.min_age, region.child_max_age, region.code, region.name_fi) == \
        (16, 17, "AAA", "Alue AAA")


def test_a_coordinator_cannot_see_or_change_another_regions_rules(world, coordinator, client):
    path = f"/manage/regions/{world.b.id}/edit"
    assert client.get(path).status_code == 404
    assert post(client, path, rules_form(period_limit="1")).status_code == 404
    assert fresh(Region, world.b.id).period_limit is None


@pytest.mark.parametrize("method, path", [
    ("get", "/manage/regions/new"), ("post", "/manage/regions/new"),
    ("post", "/manage/regions/1/active"),
])
def test_a_coordinator_may_not_add_or_switch_off_regions(world, coordinator, client, method, path):
    response = post(client, path, region_form(active="0")) if method == "post" \
        else client.get(path)
    assert response.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(Region.id))) == 2
    assert fresh(Region, world.a.id).active is True


# A change takes effect on the next scan

def test_a_new_period_limit_applies_at_the_next_scan(world, auth, client):
    box = world.users["boxoffice"]
    card = factories.card(world.a)
    db.session.commit()
    assert redeem(box, DoorRequest(code=card.number, venue_id=world.theatre.id,
                                   event_id=world.show.id, tickets=rules.Tickets(),
                                   nonce=str(uuid.uuid4()))).ok
    assert door_check(box, card, world.theatre, world.small_show) == "ok"
    auth.login("coord-a")
    post(client, f"/manage/regions/{world.a.id}/edit", rules_form(period_limit="1"))
    assert door_check(box, card, world.theatre, world.small_show) == "period_limit"


def test_joining_or_leaving_the_national_network_applies_at_the_next_scan(world, auth, client):
    box = world.users["boxoffice"]
    card_b = factories.card(world.b)
    db.session.commit()
    assert door_check(box, card_b, world.theatre) == "wrong_region"
    auth.login("coord-b")
    post(client, f"/manage/regions/{world.b.id}/edit", rules_form(national_network="True"))
    assert door_check(box, card_b, world.theatre) == "ok"
    auth.logout()
    auth.login("coord-a")
    post(client, f"/manage/regions/{world.a.id}/edit", rules_form(national_network="False"))
    assert door_check(box, card_b, world.theatre) == "wrong_region"


def test_a_deactivated_venue_answers_venue_inactive_at_the_door(world, coordinator, client):
    box = world.users["boxoffice"]
    card = factories.card(world.a)
    db.session.commit()
    post(client, f"/manage/venues/{world.theatre.id}/active", {"active": "0", "confirmed": "1"})
    assert door_check(box, card, world.theatre) == "venue_inactive"
    post(client, f"/manage/venues/{world.theatre.id}/active", {"active": "1"})
    assert door_check(box, card, world.theatre) == "ok"


# Municipalities, issuing sites and venues

@pytest.mark.parametrize("noun", KINDS)
def test_a_coordinator_lists_its_own_regions_places_only(world, coordinator, client, noun):
    own, other = place_of(world, noun, "a"), place_of(world, noun, "b")
    page = text(client.get(KINDS[noun].path))
    assert own.name in page and other.name not in page
    assert f'href="{KINDS[noun].path}/new"' in page


@pytest.mark.parametrize("noun", KINDS)
def test_an_admin_lists_the_places_of_every_region_with_the_region_named(world, admin, client,
                                                                         noun):
    page = text(client.get(KINDS[noun].path))
    for region in ("a", "b"):
        assert place_of(world, noun, region).name in page
    assert "Region AAA" in page and "Region BBB" in page


def test_the_venue_list_names_category_and_art_form_in_words(world, coordinator, client):
    page = text(client.get("/manage/venues"))
    assert "Culture · Theatre" in page and "Education · Course" in page


@pytest.mark.parametrize("noun", KINDS)
def test_a_coordinator_adds_a_place_to_its_own_region(world, coordinator, client, noun):
    kind = KINDS[noun]
    form_page = text(client.get(kind.path + "/new"))
    assert 'name="region"' not in form_page
    response = post(client, kind.path + "/new", {**kind.form, "region": str(world.b.id)})
    assert response.status_code == 302 and response.headers["Location"] == kind.path
    new = places(kind)[-1]
    assert (new.name, new.region_id, new.active) == (kind.form["name"], world.a.id, True)
    [event] = audit_events()
    assert (event.action, event.object_id, event.region_id, event.actor_id) == \
        (f"{noun}.create", new.id, world.a.id, coordinator.id)
    assert_no_free_text(event, kind.form["name"])


@pytest.mark.parametrize("noun", KINDS)
def test_an_admin_chooses_the_region_of_a_new_place(world, admin, client, noun):
    kind = KINDS[noun]
    assert 'name="region"' in text(client.get(kind.path + "/new"))
    response = post(client, kind.path + "/new", {**kind.form, "region": str(world.b.id)})
    assert response.status_code == 302
    assert places(kind)[-1].region_id == world.b.id
    assert audit_events()[0].region_id == world.b.id


@pytest.mark.parametrize("region", ["", "999999", "x"])
def test_an_admin_must_choose_an_existing_region(world, admin, client, region):
    before = len(places(KINDS["venue"]))
    response = post(client, "/manage/venues/new", {**KINDS["venue"].form, "region": region})
    assert response.status_code == 400
    assert "Choose a region." in text(response)
    assert len(places(KINDS["venue"])) == before


def test_a_new_venue_stores_its_category_art_form_and_quota(world, coordinator, client):
    post(client, "/manage/venues/new", {"name": "Galleria", "category": "culture",
                                        "art_form": "visual_arts", "default_quota": "0"})
    venue = places(KINDS["venue"])[-1]
    assert (venue.category, venue.art_form, venue.default_quota) == ("culture", "visual_arts", 0)


def test_the_venue_form_offers_the_vocabularies_with_their_labels(world, coordinator, client):
    page = text(client.get("/manage/venues/new"))
    for value, label in [("culture", "Culture"), ("education", "Education"),
                         ("science", "Science"), ("sports", "Sports"),
                         ("visual_arts", "Visual arts"), ("festival", "Festival")]:
        assert f'value="{value}">{label}</option>' in page


@pytest.mark.parametrize("noun", KINDS)
def test_a_place_is_edited_and_the_change_audited(world, coordinator, client, noun):
    kind = KINDS[noun]
    place = place_of(world, noun)
    place_id, old_name = place.id, place.name
    assert old_name in text(client.get(f"{kind.path}/{place_id}/edit"))
    response = post(client, f"{kind.path}/{place_id}/edit", kind.edit)
    assert response.status_code == 302
    place = fresh(kind.model, place_id)
    for field, value in kind.edit.items():
        stored = getattr(place, field)
        assert stored == (int(value) if field == "default_quota" and value else value or None)
    [event] = audit_events()
    assert (event.action, event.object_id, event.region_id) == \
        (f"{noun}.update", place_id, world.a.id)
    assert "name" in event.details["changed"]
    assert_no_free_text(event, old_name, kind.edit["name"])


@pytest.mark.parametrize("noun", KINDS)
def test_a_place_is_deactivated_and_reactivated_without_losing_it(world, coordinator, client,
                                                                  noun):
    kind = KINDS[noun]
    place_id = place_of(world, noun).id
    path = f"{kind.path}/{place_id}/active"
    response = post(client, path, {"active": "0", "confirmed": "1"})
    assert response.status_code == 302 and response.headers["Location"] == kind.path
    assert fresh(kind.model, place_id).active is False
    page = text(client.get(kind.path))
    assert 'class="inactive"' in page and "Inactive" in page and "Reactivate" in page
    post(client, path, {"active": "1"})
    assert fresh(kind.model, place_id).active is True
    assert [e.action for e in audit_events()] == [f"{noun}.deactivate", f"{noun}.reactivate"]


@pytest.mark.parametrize("noun", KINDS)
def test_deactivating_a_place_asks_first_and_changes_nothing_until_confirmed(world, coordinator,
                                                                            client, noun):
    kind = KINDS[noun]
    place = place_of(world, noun)
    place_id, name = place.id, place.name
    path = f"{kind.path}/{place_id}/active"
    response = post(client, path, {"active": "0"})
    page = text(response)
    assert response.status_code == 200
    assert f"Deactivate {name}?" in page
    assert f'action="{path}"' in page and 'name="confirmed" value="1"' in page
    assert f'href="{kind.path}"' in page  # going back changes nothing
    assert fresh(kind.model, place_id).active is True and audit_events() == []
    post(client, path, {"active": "0", "confirmed": "1"})
    assert fresh(kind.model, place_id).active is False


def test_deactivating_a_region_asks_the_admin_first(world, admin, client):
    path = f"/manage/regions/{world.a.id}/active"
    page = text(post(client, path, {"active": "0"}))
    assert f"Deactivate {world.a.name_en or world.a.name_fi}?" in page
    assert fresh(Region, world.a.id).active is True


def test_deactivating_what_is_already_inactive_changes_and_audits_nothing(world, coordinator,
                                                                          client):
    path = f"/manage/sites/{world.site_a.id}/active"
    post(client, path, {"active": "0", "confirmed": "1"})
    post(client, path, {"active": "0", "confirmed": "1"})
    assert [e.action for e in audit_events()] == ["site.deactivate"]


@pytest.mark.parametrize("data", [{"active": "maybe"}, {}])
def test_a_toggle_without_a_clear_state_changes_nothing(world, coordinator, client, data):
    response = post(client, f"/manage/venues/{world.theatre.id}/active", data,
                    follow_redirects=True)
    assert "Try again." in text(response)
    assert fresh(Venue, world.theatre.id).active is True
    assert audit_events() == []


def test_a_toggle_without_its_csrf_token_is_refused(world, coordinator, client):
    response = client.post(f"/manage/venues/{world.theatre.id}/active",
                           data={"active": "0", "confirmed": "1"})
    assert response.status_code == 400
    assert fresh(Venue, world.theatre.id).active is True


@pytest.mark.parametrize("noun", KINDS)
@pytest.mark.parametrize("method, action", [("get", "edit"), ("post", "edit"),
                                            ("post", "active")])
def test_another_regions_place_answers_404_to_a_coordinator(world, coordinator, client, noun,
                                                            method, action):
    kind = KINDS[noun]
    place = place_of(world, noun, "b")
    place_id, name = place.id, place.name
    path = f"{kind.path}/{place_id}/{action}"
    data = kind.edit if action == "edit" else {"active": "0", "confirmed": "1"}
    response = post(client, path, data) if method == "post" else client.get(path)
    assert response.status_code == 404
    place = fresh(kind.model, place_id)
    assert (place.name, place.active) == (name, True)
    assert audit_events() == []


@pytest.mark.parametrize("noun", KINDS)
def test_a_place_that_does_not_exist_answers_404(world, admin, client, noun):
    assert client.get(f"{KINDS[noun].path}/999999/edit").status_code == 404


@pytest.mark.parametrize("noun, field, value, message", [
    ("municipality", "name", "", "Enter the name."),
    ("municipality", "name", "x" * 121, "At most 120 characters."),
    ("site", "name", "  ", "Enter the name."),
    ("site", "name", "x" * 161, "At most 160 characters."),
    ("site", "kind", "castle", "Choose the kind of service."),
    ("venue", "name", "", "Enter the name."),
    ("venue", "category", "food", "Choose a category."),
    ("venue", "art_form", "opera", "Choose an art form."),
    ("venue", "default_quota", "-1", "leave empty for no quota"),
    ("venue", "default_quota", "many", "leave empty for no quota"),
])
def test_a_wrong_place_field_is_named_and_nothing_is_saved(world, coordinator, client, noun, field,
                                                           value, message):
    kind = KINDS[noun]
    before = len(places(kind))
    response = post(client, kind.path + "/new", {**kind.form, field: value})
    assert response.status_code == 400
    page = text(response)
    assert f'id="{field}-error"' in page and message in page
    assert len(places(kind)) == before and audit_events() == []


@pytest.mark.parametrize("name", ["Kunta A", "kunta a", " KUNTA A "])
def test_a_municipality_name_is_unique_within_its_region(world, coordinator, client, name):
    response = post(client, "/manage/municipalities/new", {"name": name})
    assert response.status_code == 400
    assert "This region already has a municipality of this name." in text(response)
    assert len(places(KINDS["municipality"])) == 2


def test_another_region_may_have_a_municipality_of_the_same_name(world, coordinator, client):
    assert post(client, "/manage/municipalities/new", {"name": "Kunta B"}).status_code == 302


def test_a_municipality_keeps_its_own_name_on_saving(world, coordinator, client):
    own = municipality(world.a)
    response = post(client, f"/manage/municipalities/{own.id}/edit", {"name": "KUNTA A"})
    assert response.status_code == 302
    assert fresh(Municipality, own.id).name == "KUNTA A"


def test_a_name_taken_in_a_race_is_a_form_error_and_nothing_is_half_saved(world, coordinator,
                                                                          client, monkeypatch):
    # As if another request saved the same name between our check and our write.
    monkeypatch.setattr(places_service, "_check_name_free", lambda municipality, name: None)
    response = post(client, "/manage/municipalities/new", {"name": "Kunta A"})
    assert response.status_code == 400
    assert "This region already has a municipality of this name." in text(response)
    assert len(places(KINDS["municipality"])) == 2 and audit_events() == []


def test_a_deactivated_municipality_is_no_longer_offered_to_issuers(world, coordinator, auth,
                                                                    client):
    own = municipality(world.a)
    post(client, f"/manage/municipalities/{own.id}/active", {"active": "0", "confirmed": "1"})
    auth.logout()
    auth.login("issuer-a")
    assert "Kunta A" not in text(client.get("/cards/new"))


def test_place_pages_stay_two_columns_wide_for_a_phone(world, admin, client):
    page = text(client.get("/manage/venues"))
    header = re.search(r"<thead>(.*?)</thead>", page, re.S).group(1)
    assert header.count("<th") == 2
