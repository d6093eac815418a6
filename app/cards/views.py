"""Views of the issuer's screens: register, hand over, find, print, renew, replace, deactivate."""
from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app.auth import roles
from app.cardcodes import format_number
from app.cards import bp, service
from app.cards.forms import ActionForm, BatchForm, DeactivateForm, FindCardForm, RegistrationForm, ReplaceForm
from app.cards.service import CardError
from app.extensions import db
from app.i18n import local_date_text
from app.models import Card, Municipality
from app.printing.cards import CardFace, card_pdf
from app.printing.qr import qr_svg


def card_error_message(code: str, card_region=None) -> str:
    """What to tell the issuer for a CardError code."""
    if code == "too_young":
        year = service.local_today().year - card_region.min_age
        return _("The holder must be at least %(age)s years old: born in %(year)s or earlier.",
                 age=card_region.min_age, year=year)
    return {
        "unknown_municipality": _("Choose a municipality of your region."),
        "bad_postcode": _("A postcode has five digits, e.g. 33100."),
        "bad_birth_year": _("Check the year of birth."),
        "bad_children": _("Between 0 and 20."),
        "bad_number": _("This is not a card number. Check the characters and try again."),
        "unknown_number": _("No pre-printed card has this number. Check it, or leave the field "
                            "empty to issue a new card."),
        "already_registered": _("This card has already been registered."),
        "other_region": _("This pre-printed card belongs to another region."),
        "not_active": _("Only an active card can be changed."),
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
    """Keep the new holder link for the hand-over page (only its hash is in the database)."""
    session["handover"] = {"number": card.number, "token": token}


@bp.route("/new", methods=["GET", "POST"])
@roles("issuer")
def register():
    """Register a card for a client, or a pre-printed blank card by its number."""
    region = current_user.issuing_site.region
    form = RegistrationForm()
    form.municipality.choices = [SelectChoice(m.id, m.name) for m in db.session.scalars(
        db.select(Municipality).where(Municipality.region_id == region.id,
                                      Municipality.active).order_by(Municipality.name))]
    if form.validate_on_submit():
        try:
            card, token = service.register(current_user, service.Registration(
                municipality_id=form.municipality.data, postcode=form.postcode.data.strip(),
                birth_year=form.birth_year.data, children=form.children.data,
                kind=form.kind.data, gender=form.gender.data or None,
                life_situation=form.life_situation.data or None,
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
    # Shown once: the raw token must not linger in the (signed, not encrypted) session cookie.
    saved = session.pop("handover", None) or {}
    link = None
    if saved.get("number") == card.number:
        link = request.url_root + "c/" + saved["token"]
    return render_template("cards/handover.html", card=card, link=link,
                           link_qr=qr_svg(link, _("Link to the digital card")) if link else None,
                           form=ActionForm())


@bp.route("/")
@roles("issuer", "admin")
def search():
    """Find a card by number; the site's latest cards below."""
    form = FindCardForm(request.args)
    if request.args.get("number") is not None and form.validate():
        card = service.find_card(form.number.data)
        if card is not None and card.status != "unissued" and (
                current_user.role == "admin"
                or card.issuing_site_id == current_user.issuing_site_id):
            return redirect(url_for("cards.show", number=card.number))
        form.number.errors.append(_("No card of yours has this number."))
    latest = service.site_cards(current_user) if current_user.role == "issuer" else []
    return render_template("cards/search.html", form=form, latest=latest)


@bp.route("/<number>")
@roles("issuer", "admin")
def show(number: str):
    """A card's status, validity and uses, with the actions an issuer may take."""
    card = own_card(number)
    if card.number != number:
        return redirect(url_for("cards.show", number=card.number))
    return render_template("cards/show.html", card=card, uses=service.uses(card),
                           deactivate_form=DeactivateForm(), replace_form=ReplaceForm(),
                           action_form=ActionForm())


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


@bp.route("/<number>/deactivate", methods=["POST"])
@roles("issuer")
def deactivate(number: str):
    """Deactivate the card with a reason code."""
    card = own_card(number)
    form = DeactivateForm()
    if _run(lambda: service.deactivate(current_user, card, form.reason.data), form):
        flash(_("The card has been deactivated."), "info")
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
    """The printable card: one ID-1 page, or with ?layout=sheet an A4 sheet for card stock."""
    card = own_card(number, blank_too=current_user.role != "issuer")
    layout = "sheet" if request.args.get("layout") == "sheet" else "single"
    pdf = card_pdf([face_for(card)], layout=layout)
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="kaikukortti-{card.number}.pdf"',
        "Cache-Control": "private, no-store"})


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
