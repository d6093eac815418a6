"""Views for regions and their rules, municipalities, issuing sites and venues.

Admins manage every region; a coordinator manages the places of its own region and the rules
it may change (DESIGN §2, §4). Another region's object answers 404, as if it did not exist.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import contains_eager
from wtforms.fields.choices import SelectChoice

from app.auth import roles
from app.extensions import db
from app.manage import bp
from app.manage import places_service as service
from app.manage.places_forms import (
    ART_FORM_LABELS,
    CATEGORY_LABELS,
    REGION_FIELDS,
    RULE_FIELDS,
    SITE_KIND_LABELS,
    ActiveForm,
    MunicipalityForm,
    PlaceForm,
    RegionForm,
    RulesForm,
    SiteForm,
    VenueForm,
)
from app.manage.places_service import PlaceError
from app.manage.scope import (
    MANAGERS,
    confirm_deactivation,
    deactivation_confirmed,
    get_in_scope,
    in_scope,
    regions_of,
)
from app.models import IssuingSite, Municipality, Region, Venue

ERRORS = {
    "code_taken": _l("Another region already has this code."),
    "name_taken": _l("This region already has a municipality of this name."),
    "name_required": _l("Enter the name."),
    "too_long": _l("The name is too long."),
    "unknown_region": _l("Choose a region."),
    "bad_code": _l("Enter a code of 2 to 16 letters A–Z or digits."),
    "not_allowed": _l("You may not change this."),
}


def error_message(code: str) -> str:
    """What to say about a PlaceError code."""
    return str(ERRORS.get(code, _l("Check this value.")))


def show_error(form, exc: PlaceError) -> None:
    """Put a service's refusal on the field it concerns, or above the form."""
    field = form._fields.get(exc.field) if exc.field else None
    if field is not None:
        field.errors = [*field.errors, error_message(exc.code)]
    else:
        flash(error_message(exc.code) if exc.code in ERRORS
              else _("The changes could not be saved. Check the form."), "error")


def is_admin() -> bool:
    """Whether the signed-in account manages every region."""
    return current_user.role == "admin"


def form_status() -> int:
    """400 for a form posted back with errors, 200 for a first view."""
    return 400 if request.method == "POST" else 200


# Regions and their rules

def own_region(region_id: int | None) -> Region:
    """The region if the account manages it; 404 otherwise."""
    if region_id is None:
        abort(404)
    return get_in_scope(Region, region_id, region_of=lambda region: region.id)


def rules_of(form: RulesForm) -> service.Rules:
    """The rules as typed in the form."""
    return service.Rules(**{name: form[name].data for name in RULE_FIELDS})


def facts_of(form: RegionForm) -> service.RegionFacts:
    """The admin-only facts of a region as typed in the form."""
    return service.RegionFacts(**{name: form[name].data for name in REGION_FIELDS})


@bp.route("/regions")
@roles(*MANAGERS)
def regions():
    """Admins: every region. A coordinator: its own region and the rules it may change."""
    if not is_admin():
        region = own_region(current_user.region_id)
        return render_template("manage/regions_rules.html", region=region,
                               form=RulesForm(obj=region))
    return render_template("manage/regions.html",
                           regions=db.session.scalars(regions_of(current_user)).all())


@bp.route("/regions/new", methods=["GET", "POST"])
@roles("admin")
def region_new():
    """Add a region with its rules."""
    form = RegionForm()
    if form.validate_on_submit():
        try:
            service.create_region(current_user, facts_of(form), rules_of(form))
        except PlaceError as exc:
            db.session.rollback()
            show_error(form, exc)
        else:
            flash(_("The region was added."), "info")
            return redirect(url_for("manage.regions"))
    return render_template("manage/regions_form.html", form=form, region=None), form_status()


@bp.route("/regions/<int:region_id>/edit", methods=["GET", "POST"])
@roles(*MANAGERS)
def region_edit(region_id: int):
    """Admins change everything of a region; a coordinator only the rules of its own."""
    region = own_region(region_id)
    form = RegionForm(obj=region) if is_admin() else RulesForm(obj=region)
    if form.validate_on_submit():
        try:
            changed = service.update_region(current_user, region, facts_of(form), rules_of(form)) \
                if is_admin() else service.update_rules(current_user, region, rules_of(form))
        except PlaceError as exc:
            db.session.rollback()
            show_error(form, exc)
        else:
            flash(_("The changes were saved. The door applies them from the next scan.")
                  if changed else _("Nothing was changed."), "info")
            return redirect(url_for("manage.regions"))
    template = "manage/regions_form.html" if is_admin() else "manage/regions_rules.html"
    return render_template(template, form=form, region=region), form_status()


@bp.route("/regions/<int:region_id>/active", methods=["POST"])
@roles("admin")
def region_active(region_id: int):
    """Deactivate or reactivate a region."""
    return toggle(own_region(region_id), "manage.regions")


# What deactivating each kind of place means, said on the page that asks first.
DEACTIVATION_CONSEQUENCES = {
    Region: _l("The region's cards, places and history are kept."),
    Municipality: _l("Cards keep their home municipality when it is deactivated."),
    IssuingSite: _l("The cards a deactivated site has issued stay valid."),
    Venue: _l("A deactivated venue admits nobody at the door; its visits stay in the statistics."),
}


def place_name(obj) -> str:
    """A region's name in the page's language, or a place's name."""
    return obj.name(str(get_locale() or "fi")) if isinstance(obj, Region) else obj.name


def toggle(obj, list_endpoint: str):
    """Set an object's active flag from the posted ActiveForm and go back to its list;
    a deactivation is asked about first."""
    form = ActiveForm()
    if not form.validate_on_submit():
        flash(_("The form had expired or was incomplete. Try again."), "error")
    elif obj.active and not form.wanted and not deactivation_confirmed():
        return confirm_deactivation(
            request.path, _("Deactivate %(name)s?", name=place_name(obj)),
            str(DEACTIVATION_CONSEQUENCES[type(obj)]), _("Deactivate"), url_for(list_endpoint))
    else:
        try:
            changed = service.set_active(current_user, obj, form.wanted)
        except PlaceError as exc:
            db.session.rollback()
            flash(error_message(exc.code), "error")
        else:
            if changed:
                flash(_("Reactivated.") if form.wanted
                      else _("Deactivated. Its history is kept."), "info")
    return redirect(url_for(list_endpoint))


# Municipalities, issuing sites and venues: one pattern, three kinds

@dataclass(frozen=True)
class Kind:
    """How one kind of place is listed, created, edited and (de)activated."""

    model: type
    form: type[PlaceForm]
    plural: str
    create: Callable
    update: Callable


def site_facts(form: SiteForm) -> service.SiteFacts:
    """An issuing site as typed in the form."""
    return service.SiteFacts(name=form.name.data, kind=form.kind.data)


def venue_facts(form: VenueForm) -> service.VenueFacts:
    """A venue as typed in the form."""
    return service.VenueFacts(name=form.name.data, category=form.category.data,
                              art_form=form.art_form.data, default_quota=form.default_quota.data)


MUNICIPALITIES = Kind(
    Municipality, MunicipalityForm, "municipalities",
    create=lambda user, region_id, form: service.create_municipality(user, region_id, form.name.data),
    update=lambda user, obj, form: service.update_municipality(user, obj, form.name.data))
SITES = Kind(
    IssuingSite, SiteForm, "sites",
    create=lambda user, region_id, form: service.create_site(user, region_id, site_facts(form)),
    update=lambda user, obj, form: service.update_site(user, obj, site_facts(form)))
VENUES = Kind(
    Venue, VenueForm, "venues",
    create=lambda user, region_id, form: service.create_venue(user, region_id, venue_facts(form)),
    update=lambda user, obj, form: service.update_venue(user, obj, venue_facts(form)))


def list_places(kind: Kind):
    """The places of the account's regions, active and inactive, by region and name."""
    query = in_scope(sa.select(kind.model).join(Region).options(contains_eager(kind.model.region))
                     .order_by(Region.name_fi, kind.model.name, kind.model.id), kind.model.region_id)
    return render_template(f"manage/{kind.plural}.html", items=db.session.scalars(query).all(),
                           show_region=is_admin(), site_kind_labels=SITE_KIND_LABELS,
                           category_labels=CATEGORY_LABELS, art_form_labels=ART_FORM_LABELS)


def create_place(kind: Kind):
    """The form for a new place; admins choose its region, a coordinator's is its own."""
    form = kind.form(choose_region=is_admin())
    if is_admin():
        form.region.choices = [SelectChoice(r.id, r.name(str(get_locale() or "fi")))
                               for r in db.session.scalars(regions_of(current_user))]
    if form.validate_on_submit():
        region_id = form.region.data if is_admin() else current_user.region_id
        try:
            kind.create(current_user, region_id, form)
        except PlaceError as exc:
            db.session.rollback()
            show_error(form, exc)
        else:
            flash(_("Added."), "info")
            return redirect(url_for(f"manage.{kind.plural}"))
    return render_template(f"manage/{kind.plural}_form.html", form=form, item=None), form_status()


def edit_place(kind: Kind, object_id: int):
    """The form for an existing place of the account's regions; its region stays."""
    item = get_in_scope(kind.model, object_id)
    form = kind.form(obj=item)
    if form.validate_on_submit():
        try:
            changed = kind.update(current_user, item, form)
        except PlaceError as exc:
            db.session.rollback()
            show_error(form, exc)
        else:
            flash(_("The changes were saved.") if changed else _("Nothing was changed."), "info")
            return redirect(url_for(f"manage.{kind.plural}"))
    return render_template(f"manage/{kind.plural}_form.html", form=form, item=item), form_status()


@bp.route("/municipalities")
@roles(*MANAGERS)
def municipalities():
    """The municipalities of the account's regions."""
    return list_places(MUNICIPALITIES)


@bp.route("/municipalities/new", methods=["GET", "POST"])
@roles(*MANAGERS)
def municipality_new():
    """Add a municipality."""
    return create_place(MUNICIPALITIES)


@bp.route("/municipalities/<int:municipality_id>/edit", methods=["GET", "POST"])
@roles(*MANAGERS)
def municipality_edit(municipality_id: int):
    """Rename a municipality."""
    return edit_place(MUNICIPALITIES, municipality_id)


@bp.route("/municipalities/<int:municipality_id>/active", methods=["POST"])
@roles(*MANAGERS)
def municipality_active(municipality_id: int):
    """Deactivate or reactivate a municipality; cards keep pointing at it."""
    return toggle(get_in_scope(Municipality, municipality_id), "manage.municipalities")


@bp.route("/sites")
@roles(*MANAGERS)
def sites():
    """The issuing sites of the account's regions."""
    return list_places(SITES)


@bp.route("/sites/new", methods=["GET", "POST"])
@roles(*MANAGERS)
def site_new():
    """Add an issuing site."""
    return create_place(SITES)


@bp.route("/sites/<int:site_id>/edit", methods=["GET", "POST"])
@roles(*MANAGERS)
def site_edit(site_id: int):
    """Change an issuing site."""
    return edit_place(SITES, site_id)


@bp.route("/sites/<int:site_id>/active", methods=["POST"])
@roles(*MANAGERS)
def site_active(site_id: int):
    """Deactivate or reactivate an issuing site; its cards stay as they are."""
    return toggle(get_in_scope(IssuingSite, site_id), "manage.sites")


@bp.route("/venues")
@roles(*MANAGERS)
def venues():
    """The venues of the account's regions."""
    return list_places(VENUES)


@bp.route("/venues/new", methods=["GET", "POST"])
@roles(*MANAGERS)
def venue_new():
    """Add a venue."""
    return create_place(VENUES)


@bp.route("/venues/<int:venue_id>/edit", methods=["GET", "POST"])
@roles(*MANAGERS)
def venue_edit(venue_id: int):
    """Change a venue."""
    return edit_place(VENUES, venue_id)


@bp.route("/venues/<int:venue_id>/active", methods=["POST"])
@roles(*MANAGERS)
def venue_active(venue_id: int):
    """Deactivate or reactivate a venue; an inactive venue admits nobody at the door."""
    return toggle(get_in_scope(Venue, venue_id), "manage.venues")
