"""Views of the issuer's screens: register, hand over, find, print, renew, replace, deactivate."""
from __future__ import annotations

import json

from cryptography.fernet import InvalidToken
from flask import Response, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app import rules
from app.auth import roles
from app.cardcodes import format_number
from app.cards import bp, service
from app.cards.forms import (
    CHOOSE,
    DEACTIVATION_LABELS,
    ActionForm,
    BatchForm,
    DeactivateForm,
    FindCardForm,
    RegistrationForm,
    ReplaceForm,
    SheetSlotForm,
    birth_year_range_message,
    children_range_message,
)
from app.cards.service import CardError
from app.extensions import db
from app.i18n import local_date_text, local_time_text
from app.keys import session_cipher
from app.models import Card, Municipality
from app.printing.cards import CardFace, card_pdf
from app.printing.qr import qr_svg

# How long a new holder link waits in the session for its hand-over page.
HANDOVER_SECONDS = 600


def card_error_message(code: str, card_region=None) -> str:
    """What to tell the issuer for a CardError code."""
    if code == "bad_birth_year":
        return str(birth_year_range_message(
            rules.latest_birth_year(service.local_today(), card_region.rules()), card_region.min_age))
    return {
        "unknown_municipality": _("Choose a municipality of your region."),
        "bad_postcode": _("A postcode has five digits, e.g. 33100."),
        "bad_children": str(children_range_message()),
        "bad_number": _("This is not a card number. Check the characters and try again."),
        "unknown_number": _("No pre-printed card has this number. Check it, or leave the field "
                            "empty to issue a new card."),
        "already_registered": _("This card has already been registered."),
        "other_region": _("This pre-printed card belongs to another region."),
        "not_active": _("Only an active card can be changed."),
        "already_deactivated": _("The card was already deactivated."),
        "not_deactivated": _("The card is not deactivated, so there is nothing to undo."),
        "undo_too_late": _("A deactivation can be undone only by the person who made it, within "
                           "%(minutes)s minutes.", minutes=rules.DEACTIVATION_UNDO_MINUTES),
    }.get(code, _("The card could not be saved. Check the form."))


def own_card(number: str, blank_too: bool = False) -> Card:
    """The card with this number if the signed-in account may see it; 404 otherwise.

    An issuer sees its own site's cards, a coordinator its region's, an admin all. Another
    site's card answers 404 like a card that does not exist: not even its existence is shown.
    """
    card = service.find_card(number)
    if card is None or (card.status == "unissued" and not blank_too):
        abort(404)
    if current_user.role == "issuer" and card.issuing_site_id != current_user.issuing_site_id:
        abort(404)
    if current_user.role == "coordinator" and card.region_id != current_user.region_id:
        abort(404)
    return card


def face_for(card: Card) -> CardFace:
    """What a printed card shows: a blank card's QR holds just its number."""
    region = card.region
    names = [region.name_fi] + ([region.name_sv] if region.name_sv != region.name_fi else [])
    blank = card.status == "unissued"
    return CardFace(number=card.number, qr_text=card.number if blank else service.qr_payload(card),
                    region_name=" / ".join(names), valid_until=card.valid_until,
                    children=None if blank else card.children, kind=card.kind, blank=blank)


def remember_link(card: Card, token: str) -> None:
    """Keep the new holder link for the hand-over page (only its hash is in the database).

    The session cookie is signed, not encrypted: the token travels in it encrypted, and for
    a few minutes only.
    """
    sealed = session_cipher().encrypt(json.dumps({"number": card.number, "token": token}).encode())
    session["handover"] = sealed.decode()


def remembered_token(card: Card) -> str | None:
    """The holder link's token kept for this card's hand-over, once; None if none or stale."""
    sealed = session.pop("handover", None)
    if not isinstance(sealed, str):
        return None
    try:
        saved = json.loads(session_cipher().decrypt(sealed.encode(), ttl=HANDOVER_SECONDS))
    except InvalidToken:
        return None
    return saved["token"] if saved.get("number") == card.number else None


@bp.route("/new", methods=["GET", "POST"])
@roles("issuer")
def register():
    """Register a card for a client, or a pre-printed blank card by its number."""
    region = current_user.issuing_site.region
    form = RegistrationForm()
    form.municipality.choices = [SelectChoice("", CHOOSE)] + [
        SelectChoice(m.id, m.name) for m in db.session.scalars(
            db.select(Municipality).where(Municipality.region_id == region.id,
                                          Municipality.active).order_by(Municipality.name))]
    form.latest_birth_year = rules.latest_birth_year(service.local_today(), region.rules())
    form.min_age = region.min_age
    if form.validate_on_submit():
        try:
            card, token = service.register(current_user, service.Registration(
                municipality_id=form.municipality.data, postcode=form.postcode.data.strip(),
                birth_year=form.birth_year.data, children=form.children.data,
                kind=form.kind.data, gender=form.voluntary("gender"),
                life_situation=form.voluntary("life_situation"),
                preprinted_number=(form.preprinted_number.data or "").strip() or None))
        except CardError as exc:
            db.session.rollback()
            getattr(form, exc.field).errors.append(card_error_message(exc.code, region))
        else:
            remember_link(card, token)
            return redirect(url_for("cards.handover", number=card.number))
    status = 400 if request.method == "POST" else 200
    return render_template("cards/new.html", form=form, region=region), status


@bp.route("/<number>/handover")
@roles("issuer")
def handover(number: str):
    """Hand the card over: print it, and let the holder scan the digital-card link."""
    card = own_card(number)
    token = remembered_token(card)  # shown once, then gone from the session
    link = request.url_root + "c/" + token if token else None
    page = render_template("cards/handover.html", card=card, link=link,
                           link_qr=qr_svg(link, _("Link to the digital card")) if link else None,
                           form=ActionForm(), slot_form=SheetSlotForm(formdata=None),
                           standing=service.standing(card), deactivation_reasons=DEACTIVATION_LABELS)
    # The page holds the holder's private link: no copy in any cache, the browser's included.
    return page, 200, {"Cache-Control": "private, no-store"}


@bp.route("/")
@roles("issuer", "admin")
def search():
    """Find a card by number; the site's latest cards below, with their standing today."""
    form = FindCardForm(request.args)
    if request.args.get("number") is not None and form.validate():
        card = service.find_card(form.number.data)
        if card is not None and card.status != "unissued" and (
                current_user.role == "admin"
                or card.issuing_site_id == current_user.issuing_site_id):
            return redirect(url_for("cards.show", number=card.number))
        form.number.errors.append(_("No card of yours has this number."))
    latest = service.site_cards(current_user) if current_user.role == "issuer" else []
    today = service.local_today()
    return render_template("cards/search.html", form=form, latest=latest,
                           standings={c.id: service.standing(c, today) for c in latest})


@bp.route("/<number>")
@roles("issuer", "admin")
def show(number: str):
    """A card's standing, validity and uses, with the actions an issuer may take."""
    card = own_card(number)
    if card.number != number:
        return redirect(url_for("cards.show", number=card.number))
    return render_template("cards/show.html", card=card, uses=service.uses(card),
                           standing=service.standing(card), replace_form=ReplaceForm(),
                           deactivation_reasons=DEACTIVATION_LABELS,
                           action_form=ActionForm(), slot_form=SheetSlotForm(formdata=None),
                           undo_until=_undo_until(card),
                           undo_minutes=rules.DEACTIVATION_UNDO_MINUTES)


def _undo_until(card: Card) -> str | None:
    """The local time until which the signed-in issuer may undo the card's deactivation."""
    deadline = service.undo_deadline(current_user, card) if current_user.role == "issuer" else None
    return local_time_text(deadline) if deadline else None


@bp.route("/<number>/renew", methods=["POST"])
@roles("issuer")
def renew(number: str):
    """Extend the card's validity by the region's rules."""
    card = own_card(number)
    if _run(lambda: service.renew(current_user, card), ActionForm()):
        flash(_("The card is now valid until %(date)s. Print it again if the holder wants a "
                "new printout.", date=local_date_text(card.valid_until)), "info")
    return redirect(url_for("cards.show", number=card.number))


@bp.route("/<number>/replace", methods=["POST"])
@roles("issuer")
def replace(number: str):
    """Retire a lost or damaged card and give the holder a new number."""
    card = own_card(number)
    form = ReplaceForm()
    result = _run(lambda: service.replace(current_user, card, form.reason.data), form)
    if not result:
        return redirect(url_for("cards.show", number=card.number))
    new, token = result
    remember_link(new, token)
    flash(_("Card %(old)s was replaced by %(new)s.", old=format_number(card.number),
            new=format_number(new.number)), "info")
    return redirect(url_for("cards.handover", number=new.number))


@bp.route("/<number>/deactivate", methods=["GET", "POST"])
@roles("issuer")
def deactivate(number: str):
    """Ask first, with the reason; then deactivate the card (undoable for a short while)."""
    card = own_card(number)
    if card.status != "active":
        if request.method == "POST":
            flash(card_error_message("already_deactivated" if card.status == "deactivated"
                                     else "not_active"), "error")
        return redirect(url_for("cards.show", number=card.number))
    form = DeactivateForm()
    if form.validate_on_submit():
        try:
            service.deactivate(current_user, card, form.reason.data)
        except CardError as exc:
            db.session.rollback()
            flash(card_error_message(exc.code), "error")
        else:
            flash(_("The card has been deactivated. You can undo this within %(minutes)s minutes.",
                    minutes=rules.DEACTIVATION_UNDO_MINUTES), "info")
        return redirect(url_for("cards.show", number=card.number))
    status = 400 if request.method == "POST" else 200
    return render_template("cards/deactivate.html", card=card, form=form,
                           undo_minutes=rules.DEACTIVATION_UNDO_MINUTES), status


@bp.route("/<number>/undo-deactivation", methods=["POST"])
@roles("issuer")
def undo_deactivation(number: str):
    """Take back one's own recent deactivation."""
    card = own_card(number)
    if _run(lambda: service.undo_deactivation(current_user, card), ActionForm()):
        flash(_("The deactivation was undone. The card is in use again."), "info")
    return redirect(url_for("cards.show", number=card.number))


@bp.route("/<number>/link", methods=["POST"])
@roles("issuer")
def new_link(number: str):
    """Replace the holder's digital-card link; the old link stops working."""
    card = own_card(number)
    token = _run(lambda: service.replace_link(current_user, card), ActionForm())
    if not token:
        return redirect(url_for("cards.show", number=card.number))
    remember_link(card, token)
    flash(_("A new link was made. The old link no longer opens the card."), "info")
    return redirect(url_for("cards.handover", number=card.number))


def _run(action, form):
    """Run a service action if the form is valid; flash the reason if it fails."""
    if not form.validate_on_submit():
        flash(_("The form had expired or was incomplete. Try again."), "error")
        return None
    try:
        return action() or True
    except CardError as exc:
        db.session.rollback()
        flash(card_error_message(exc.code), "error")
        return None


@bp.route("/<number>/card.pdf")
@roles("issuer", "coordinator", "admin")
def card_pdf_view(number: str):
    """The printable card: one ID-1 page, or with ?layout=sheet&slot=N on an A4 sheet for card
    stock, in place N; a card that is not in force is not printed."""
    card = own_card(number, blank_too=current_user.role != "issuer")
    if not rules.printable(card.status, card.valid_until, service.local_today()):
        return render_template("cards/not_printable.html", card=card,
                               standing=service.standing(card)), 409
    layout = "sheet" if request.args.get("layout") == "sheet" else "single"
    first_slot = _sheet_place() if layout == "sheet" else 0
    pdf = card_pdf([face_for(card)], layout=layout, first_slot=first_slot)
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="kaikukortti-{card.number}.pdf"',
        "Cache-Control": "private, no-store"})


def _sheet_place() -> int:
    """The sheet place (0-9) the issuer chose for one card; the first when none; 400 if wrong."""
    if "slot" not in request.args:
        return 0
    form = SheetSlotForm(request.args)
    if not form.validate():
        abort(400)
    return form.slot.data - 1


@bp.route("/blank", methods=["GET", "POST"])
@roles("coordinator")
def blank_batch():
    """Print a batch of blank numbered cards that issuers register later."""
    form = BatchForm()
    if form.validate_on_submit():
        cards = service.create_blank_batch(current_user, form.count.data)
        pdf = card_pdf([face_for(c) for c in cards], layout="sheet")
        return Response(pdf, mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="kaikukortti-blank-{cards[0].id}.pdf"',
            "Cache-Control": "private, no-store"})
    status = 400 if request.method == "POST" else 200
    return render_template("cards/blank.html", form=form), status
