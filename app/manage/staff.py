"""Staff accounts of the account's region(s): list, create, change, reset password, (de)activate,
end signed-in devices."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app.auth import roles, sessions
from app.auth.views import remember_until
from app.extensions import db
from app.i18n import ROLE_NAMES
from app.manage import bp
from app.manage import staff_service as service
from app.manage.scope import (
    MANAGERS,
    confirm_deactivation,
    deactivation_confirmed,
    get_in_scope,
    in_scope,
    page_number,
    regions_of,
)
from app.manage.staff_forms import ActiveForm, NewStaffForm, PasswordForm, StaffFilterForm, StaffForm
from app.manage.staff_service import Account, StaffError
from app.models import ROLES, IssuingSite, User, Venue

PER_PAGE = 50


def staff_error_message(code: str) -> str:
    """What to tell the coordinator for a StaffError code."""
    return {
        "bad_username": _("3–64 characters: letters a–z, digits, full stop, _ and -."),
        "username_taken": _("This username is taken. Choose another one."),
        "bad_password": _("From %(min)d to %(max)d characters.", min=service.MIN_PASSWORD,
                          max=service.MAX_PASSWORD),
        "password_has_username": _("The password must not contain the username."),
        "bad_role": _("Choose the role."),
        "admin_only": _("Only a national administrator can manage administrator accounts."),
        "own_role": _("You cannot change the role of your own account."),
        "own_account": _("You cannot deactivate your own account."),
        "unknown_region": _("Choose a region."),
        "unknown_site": _("Choose an active issuing site of your region."),
        "unknown_venue": _("Choose active venues of your region."),
        "needs_region": _("A coordinator account needs its region."),
        "needs_issuing_site": _("An issuer account needs its issuing site."),
        "needs_venues": _("A box-office account needs one or more venues."),
        "not_for_role": _("Leave this empty for the chosen role."),
        "outside_region": _("This is not in the region chosen above."),
        "venues_of_two_regions": _("The venues of one account must be in one region."),
        "other_region": _("You can manage accounts of your own region only."),
    }.get(code, _("The account could not be saved. Check the form."))


def load_account(user_id: int) -> User:
    """The account if it belongs to the signed-in manager's region(s); 404 otherwise."""
    return get_in_scope(User, user_id)


def region_choices() -> list[SelectChoice]:
    """The regions this manager manages, named in the page's language."""
    lang = str(get_locale() or "fi")
    return [SelectChoice(r.id, r.name(lang)) for r in db.session.scalars(regions_of(current_user))]


def _label(name: str, region) -> str:
    return f"{name} ({region.code})" if current_user.role == "admin" else name


def _prepare(form: StaffForm, user: User | None = None) -> None:
    """Offer the roles, regions, sites and venues this manager may give."""
    roles_offered = ROLES if current_user.role == "admin" else ("coordinator", "issuer", "boxoffice")
    form.role.choices = [SelectChoice(r, ROLE_NAMES[r]) for r in roles_offered]
    if user is None:  # a new account has no role until one is chosen
        form.role.choices.insert(0, SelectChoice("", _("Choose the role")))
    regions = region_choices()
    blank = [SelectChoice("", _("None (an administrator), or that of the site or venues"))]
    form.region.choices = blank + regions if current_user.role == "admin" else regions
    keep_site = user.issuing_site_id if user else None
    sites = db.session.scalars(in_scope(sa.select(IssuingSite).order_by(IssuingSite.name),
                                        IssuingSite.region_id))
    form.issuing_site.choices = [SelectChoice("", "–")] + [
        SelectChoice(s.id, _label(s.name, s.region)) for s in sites if s.active or s.id == keep_site]
    keep_venues = {v.id for v in user.venues} if user else set()
    venues = db.session.scalars(in_scope(sa.select(Venue).order_by(Venue.name), Venue.region_id))
    form.venues.choices = [SelectChoice(v.id, _label(v.name, v.region))
                           for v in venues if v.active or v.id in keep_venues]


def _account(form: StaffForm) -> Account:
    return Account(username=form.username.data, role=form.role.data, region_id=form.region.data,
                   site_id=form.issuing_site.data, venue_ids=tuple(form.venues.data or ()))


def _account_data(user: User) -> dict:
    return {"username": user.username, "role": user.role, "region": user.region_id,
            "issuing_site": user.issuing_site_id, "venues": [v.id for v in user.venues]}


def _show_error(form, exc: StaffError) -> None:
    db.session.rollback()
    field = getattr(form, exc.field or "", None) or form.username
    field.errors = [*field.errors, staff_error_message(exc.code)]


def _password_page(user: User, password: str, created: bool):
    """Show a generated password this once; it is kept nowhere, not even in a cache."""
    response = make_response(render_template("manage/staff_password.html", user=user,
                                              password=password, created=created))
    response.headers["Cache-Control"] = "no-store"
    return response


def _edit_page(user: User, form: StaffForm | None = None,
               password_form: PasswordForm | None = None, status: int = 200):
    if form is None:
        form = StaffForm(formdata=None, data=_account_data(user))
        _prepare(form, user)
    lifetimes = sessions.Lifetimes.of(current_app.config)
    return render_template(
        "manage/staff_form.html", form=form, user=user,
        password_form=password_form or PasswordForm(formdata=None),
        devices=sessions.live_sessions(user, lifetimes), remember_until=remember_until,
        end_url=lambda d: url_for("manage.staff_end_device", user_id=user.id, session_id=d.id)
    ), status


@bp.route("/staff")
@roles(*MANAGERS)
def staff():
    """Staff accounts of the account's region(s), narrowed by role and region."""
    form = StaffFilterForm(request.args)
    form.role.choices = [SelectChoice("", _("All roles"))] + [
        SelectChoice(r, ROLE_NAMES[r]) for r in ROLES]
    form.region.choices = [SelectChoice("", _("All regions")), *region_choices()]
    form.validate()
    role = None if form.role.errors else form.role.data or None
    region_id = None if form.region.errors else form.region.data
    query = in_scope(service.staff_list(role, region_id), User.region_id)
    page = db.paginate(query, page=page_number(), per_page=PER_PAGE,
                       error_out=False)
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("manage/staff.html", form=form, page=page, args=args)


@bp.route("/staff/new", methods=["GET", "POST"])
@roles(*MANAGERS)
def staff_new():
    """Create a staff account with its role, scope and first password."""
    form = NewStaffForm()
    _prepare(form)
    if request.method == "GET" and current_user.role != "admin":
        form.region.data = current_user.region_id
    if form.validate_on_submit():
        try:
            user, generated = service.create_account(current_user, _account(form),
                                                     form.password.data or None)
        except StaffError as exc:
            _show_error(form, exc)
        else:
            if generated:
                return _password_page(user, generated, created=True)
            flash(_("The account was created."), "info")
            return redirect(url_for("manage.staff_edit", user_id=user.id))
    status = 400 if request.method == "POST" else 200
    if status == 400:
        _suggest_role(form)
    return render_template("manage/staff_form.html", form=form, user=None), status


def _suggest_role(form: NewStaffForm) -> None:
    """With no role chosen, a ticked venue or a chosen site tells which role fits: say so and
    choose it, so that one more press of the button makes the account."""
    if form.role.data:
        return
    if form.venues.data:
        role, text = "boxoffice", _("Choose the role – %(role)s suits the ticked venues.",
                                    role=str(ROLE_NAMES["boxoffice"]).lower())
    elif form.issuing_site.data:
        role, text = "issuer", _("Choose the role – %(role)s suits the chosen issuing site.",
                                 role=str(ROLE_NAMES["issuer"]).lower())
    else:
        return
    form.role.errors = [text]
    form.role.data = role


@bp.route("/staff/<int:user_id>/edit", methods=["GET", "POST"])
@roles(*MANAGERS)
def staff_edit(user_id: int):
    """Change an account's username, role and scope; reset its password; (de)activate it."""
    user = load_account(user_id)
    if request.method == "GET":
        return _edit_page(user)
    form = StaffForm(data=_account_data(user))
    _prepare(form, user)
    if form.validate_on_submit():
        try:
            service.update_account(current_user, user, _account(form))
        except StaffError as exc:
            _show_error(form, exc)
        else:
            flash(_("The account was saved."), "info")
            return redirect(url_for("manage.staff_edit", user_id=user.id))
    return _edit_page(user, form=form, status=400)


@bp.route("/staff/<int:user_id>/password", methods=["POST"])
@roles(*MANAGERS)
def staff_password(user_id: int):
    """Reset the password: a typed one, or a generated one shown on the next page only."""
    user = load_account(user_id)
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            generated = service.reset_password(current_user, user, form.password.data or None)
        except StaffError as exc:
            db.session.rollback()
            form.password.errors = [*form.password.errors, staff_error_message(exc.code)]
        else:
            if generated:
                return _password_page(user, generated, created=False)
            flash(_("The password was changed."), "info")
            return redirect(url_for("manage.staff_edit", user_id=user.id))
    return _edit_page(user, password_form=form, status=400)


@bp.route("/staff/<int:user_id>/active", methods=["POST"])
@roles(*MANAGERS)
def staff_active(user_id: int):
    """Deactivate the account (it can no longer log in; its records stay) or reactivate it."""
    user = load_account(user_id)
    form = ActiveForm()
    if not form.validate_on_submit():
        flash(_("The form had expired or was incomplete. Try again."), "error")
        return redirect(url_for("manage.staff_edit", user_id=user.id))
    active = form.active.data == "1"
    if user.active and not active and user.id != current_user.id and not deactivation_confirmed():
        return confirm_deactivation(
            request.path, _("Deactivate the account %(name)s?", name=user.username),
            _("A deactivated account can no longer log in, and its open sessions end. Its records "
              "stay."), _("Deactivate the account"), url_for("manage.staff_edit", user_id=user.id))
    try:
        service.set_account_active(current_user, user, active)
    except StaffError as exc:
        db.session.rollback()
        flash(staff_error_message(exc.code), "error")
    else:
        flash(_("The account is active again.") if active else
              _("The account was deactivated. It can no longer log in."), "info")
    return redirect(url_for("manage.staff_edit", user_id=user.id))


@bp.route("/staff/<int:user_id>/devices/<int:session_id>/end", methods=["POST"])
@roles(*MANAGERS)
def staff_end_device(user_id: int, session_id: int):
    """End one signed-in device of the account (a lost phone): it needs the password again."""
    return _end_devices(user_id, session_id)


@bp.route("/staff/<int:user_id>/devices/end", methods=["POST"])
@roles(*MANAGERS)
def staff_end_devices(user_id: int):
    """End every signed-in device of the account."""
    return _end_devices(user_id, None)


def _end_devices(user_id: int, session_id: int | None):
    user = load_account(user_id)
    try:
        ended = service.end_devices(current_user, user, session_id)
    except sessions.SessionNotFound:
        abort(404)
    except StaffError as exc:
        db.session.rollback()
        flash(staff_error_message(exc.code), "error")
    else:
        flash(_("The device was signed out.") if session_id else
              ngettext("%(num)d device was signed out.", "%(num)d devices were signed out.",
                       ended), "info")
    return redirect(url_for("manage.staff_edit", user_id=user.id, _anchor="devices-heading"))
