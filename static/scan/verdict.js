// The full-screen answer: green for ok, red for refused, amber when the device cannot tell;
// always an icon and words too, never colour alone. Ok answers carry the ticket steppers.
import { dateText, errorText, lang, t, timeOfDay, tn } from "./i18n.js";

const REFUSED_SHOWN_MS = 8000;
const CONFIRMATION_SHOWN_MS = 1500;
const KINDS = ["ok", "refused", "unverified", "error", "confirmed"];
const HELSINKI_DAY = new Intl.DateTimeFormat("sv-SE", { timeZone: "Europe/Helsinki" });

export class VerdictView {
  constructor(dialog, { onRecord, onDismiss, onUndo, loginLink }) {
    this.dialog = dialog;
    this.handlers = { onRecord, onDismiss, onUndo };
    this.loginLink = loginLink;
    this.title = dialog.querySelector("#verdict-title");
    this.reason = dialog.querySelector("#verdict-reason");
    this.note = dialog.querySelector("[data-verdict-note]");
    this.facts = dialog.querySelector("[data-verdict-card]");
    this.ticketBox = dialog.querySelector("[data-tickets]");
    this.ticketNote = dialog.querySelector("[data-tickets-note]");
    this.recordButton = dialog.querySelector('[data-action="record"]');
    this.undoButton = dialog.querySelector('[data-action="undo-confirmed"]');
    this.dismissButton = dialog.querySelector('[data-action="dismiss"]');
    this.steppers = [];
    this.cap = null; // the most persons in all (allowed.persons)
    this.placesLeft = null; // the event's places left, null without a quota
    this.meanwhile = null; // places left now, when a record found fewer than the check
    this.timer = null;
    this.touched = false;
    this.bind();
  }

  bind() {
    this.recordButton.addEventListener("click", () => this.handlers.onRecord(this.tickets()));
    this.undoButton.addEventListener("click", () => this.handlers.onUndo());
    this.dismissButton.addEventListener("click", () => this.dismiss());
    this.dialog.addEventListener("cancel", (event) => {
      event.preventDefault(); // Escape: back to scanning, through our own path
      this.dismiss();
    });
    this.dialog.addEventListener("click", (event) => {
      // A refused answer goes away with a tap anywhere on it.
      if (this.kind === "refused" && !event.target.closest("button")) {
        this.dismiss();
      }
    });
    // Someone reaching for a button keeps the answer on screen.
    this.dialog.addEventListener("pointerdown", () => this.hold());
    this.dialog.addEventListener("keydown", () => this.hold());
  }

  get isOpen() {
    return this.dialog.open;
  }

  /** Show a verdict: `{verdict, reason, card, allowed, uses_in_period, replaced_by, offline}`. */
  showVerdict(verdict) {
    const kind = verdict.verdict;
    this.render(kind, t(`verdict.${kind}`), this.reasonText(verdict));
    this.showNote(kind === "unverified" ? null : verdict.offline ? t("verdict.offline_note") : null);
    this.showFacts(verdict.card, verdict);
    const recordable = kind === "ok" || kind === "unverified";
    this.showTickets(recordable ? verdict : null);
    this.recordButton.hidden = !recordable;
    this.recordButton.textContent = t(kind === "unverified" ? "action.record_unverified" : "action.record");
    this.dismissButton.textContent = t(recordable ? "action.cancel" : "action.back_to_scanning");
    this.open(kind === "refused" ? REFUSED_SHOWN_MS : null);
  }

  /** The record is in: a short confirmation that goes back to scanning by itself. */
  showConfirmation(text, detail) {
    this.render("confirmed", text, detail);
    this.showNote(null);
    this.showFacts(null);
    this.showTickets(null);
    this.recordButton.hidden = true;
    this.undoButton.hidden = false;
    this.dismissButton.textContent = t("action.back_to_scanning");
    this.open(CONFIRMATION_SHOWN_MS);
  }

  /** The request itself failed (not a verdict on the card). */
  showError(code) {
    this.render("error", t("error.title"), errorText(code));
    this.showNote(null);
    if (code === "login_required") {
      this.note.hidden = false;
      this.note.append(this.loginLink());
    }
    this.showFacts(null);
    this.showTickets(null);
    this.recordButton.hidden = true;
    this.dismissButton.textContent = t("action.back_to_scanning");
    this.open(null);
  }

  reasonText(verdict) {
    if (verdict.verdict === "unverified") {
      return t("verdict.unverified_text");
    }
    if (verdict.reason === "already_used" && verdict.earlier_visit) {
      return usedText(verdict.earlier_visit);
    }
    const text = t(`reason.${verdict.reason}`);
    return verdict.replaced_by ? `${text} ${t("verdict.replaced_by", { number: verdict.replaced_by })}` : text;
  }

  render(kind, title, reason) {
    this.kind = kind;
    this.dialog.classList.remove(...KINDS.map((name) => `is-${name}`));
    this.dialog.classList.add(`is-${kind}`);
    this.title.textContent = title;
    this.reason.textContent = reason;
    this.undoButton.hidden = true;
    this.recordButton.disabled = false;
  }

  showNote(text) {
    this.note.hidden = !text;
    this.note.textContent = text ?? "";
  }

  showFacts(card, verdict = {}) {
    this.facts.replaceChildren();
    this.placesFact = null;
    this.facts.hidden = !card;
    if (!card) {
      return;
    }
    const add = (label, value) => {
      if (value === null || value === undefined || value === "") {
        return null;
      }
      const term = document.createElement("dt");
      const detail = document.createElement("dd");
      term.textContent = label;
      detail.textContent = value;
      this.facts.append(term, detail);
      return detail;
    };
    add(t("verdict.number"), card.number);
    add(t("verdict.valid_until"), card.valid_until ? dateText(card.valid_until) : null);
    if (card.kind === "community") {
      add(t("verdict.kind"), t("kind.community"));
      add(t("verdict.group"), verdict.allowed?.children || null); // the region's group size
    } else {
      add(t("verdict.children"), card.children);
    }
    add(t("verdict.region"), card.region_names?.[lang()] ?? card.region);
    const uses = verdict.uses_in_period;
    add(t("verdict.uses"), uses ? tn(card.period === "year" ? "verdict.uses_year" : "verdict.uses_month", uses) : null);
    this.placesFact = add(t("verdict.places_left"), verdict.places_left);
    this.facts.querySelector("dd")?.classList.add("card-number");
  }

  showTickets(verdict) {
    for (const stepper of this.steppers) {
      stepper.row.remove();
    }
    this.steppers = [];
    this.meanwhile = null;
    this.ticketBox.hidden = !verdict;
    if (!verdict) {
      this.cap = null;
      this.placesLeft = null;
      this.ticketNote.hidden = true;
      return;
    }
    const community = verdict.card?.kind === "community";
    const allowed = verdict.allowed ?? { adults: 1, children: 0, assistants: 0 };
    this.cap = allowed.persons ?? null;
    this.placesLeft = verdict.places_left ?? null;
    const rows = [
      ["adults", community ? "tickets.worker" : "tickets.adults", Math.min(1, allowed.adults)],
      ["children", community ? "tickets.group" : "tickets.children", 0],
      ["assistants", "tickets.assistants", 0],
    ];
    for (const [name, labelKey, start] of rows) {
      if (allowed[name] > 0) {
        this.steppers.push(new Stepper(this.ticketBox, name, t(labelKey), start, allowed[name],
          () => this.onTicketsChanged(), () => this.room()));
      }
    }
    this.onTicketsChanged();
  }

  total() {
    return Object.values(this.tickets()).reduce((sum, n) => sum + n, 0);
  }

  /** How many more persons the tickets may take (Infinity without a cap). */
  room() {
    return this.cap == null ? Infinity : this.cap - this.total();
  }

  onTicketsChanged() {
    const total = this.total();
    for (const stepper of this.steppers) {
      stepper.refresh();
    }
    this.recordButton.disabled = total === 0 || this.room() < 0;
    this.showTicketNote(total);
  }

  /** Words for the places: the group that does not fit, or fewer places than chosen. */
  showTicketNote(total) {
    const left = this.placesLeft;
    const lines = [];
    if (this.meanwhile !== null) {
      lines.push(left === 0 ? t("tickets.none_left") : tn("tickets.taken_meanwhile", left));
    }
    if (left !== null && left > 0 && total > left) {
      lines.push(tn("tickets.too_many", left));
    } else if (left !== null && total === left && this.steppers.some((s) => s.value < s.max)) {
      lines.push(tn("tickets.group_too_big", left)); // the places stop the steppers, not the card
    }
    this.ticketNote.hidden = lines.length === 0;
    this.ticketNote.textContent = lines.join(" ");
  }

  /**
   * A record found fewer places than the check: keep the chosen tickets, say how many places
   * are left now, and let the seller take tickets off before recording again.
   */
  placesTaken(left) {
    this.placesLeft = left;
    this.cap = left;
    this.meanwhile = left;
    if (this.placesFact) {
      this.placesFact.textContent = String(left);
    }
    this.onTicketsChanged();
    this.hold();
  }

  tickets() {
    const chosen = { adults: 0, children: 0, assistants: 0 };
    for (const stepper of this.steppers) {
      chosen[stepper.name] = stepper.value;
    }
    return chosen;
  }

  /** Busy while the record is being sent: one tap records once. */
  busy(on) {
    this.recordButton.setAttribute("aria-busy", String(on));
    if (on) {
      this.recordButton.disabled = true;
    } else {
      this.onTicketsChanged(); // enabled again only for tickets that fit
    }
  }

  open(autoCloseMs) {
    clearTimeout(this.timer);
    this.touched = false;
    if (!this.dialog.open) {
      this.dialog.showModal();
    }
    this.title.focus();
    if (autoCloseMs) {
      this.timer = setTimeout(() => {
        if (!this.touched) {
          this.dismiss();
        }
      }, autoCloseMs);
    }
  }

  hold() {
    this.touched = true;
  }

  dismiss() {
    this.close();
    this.handlers.onDismiss();
  }

  close() {
    clearTimeout(this.timer);
    if (this.dialog.open) {
      this.dialog.close();
    }
  }
}

class Stepper {
  constructor(parent, name, label, value, max, onChange, room = () => Infinity) {
    this.name = name;
    this.value = value;
    this.max = max;
    this.onChange = onChange;
    this.room = room;
    this.row = document.createElement("div");
    this.row.className = "stepper";
    this.row.setAttribute("role", "group");
    const id = `stepper-${name}`;
    this.row.setAttribute("aria-labelledby", id);
    this.row.innerHTML = `<span class="stepper-label" id="${id}"></span>
      <button type="button" class="stepper-button" data-step="-1">−</button>
      <output class="stepper-value" aria-live="polite"></output>
      <button type="button" class="stepper-button" data-step="1">+</button>`;
    this.row.querySelector(".stepper-label").textContent = label;
    const [less, more] = this.row.querySelectorAll("button");
    less.setAttribute("aria-label", t("tickets.less", { what: label }));
    more.setAttribute("aria-label", t("tickets.more", { what: label }));
    less.addEventListener("click", () => this.set(this.value - 1));
    more.addEventListener("click", () => this.set(this.value + 1));
    this.buttons = { less, more };
    this.output = this.row.querySelector("output");
    parent.append(this.row);
    this.set(value);
  }

  set(value) {
    // More only while the card and the places both allow it; fewer always, to fit the places.
    const more = value > this.value && this.room() <= 0 ? this.value : value;
    this.value = Math.max(0, Math.min(this.max, more));
    this.output.textContent = String(this.value);
    this.onChange();
  }

  refresh() {
    this.buttons.less.disabled = this.value === 0;
    this.buttons.more.disabled = this.value >= this.max || this.room() <= 0;
  }
}

/** "Already used today at 18.05 at this event": when and where, from the API's earlier_visit. */
function usedText(earlier) {
  const at = new Date(earlier.occurred_at);
  const time = timeOfDay(earlier.occurred_at);
  const day = HELSINKI_DAY.format(at);
  const when = day === HELSINKI_DAY.format(new Date())
    ? t("used.today", { time }) : t("used.on_day", { date: dateText(day), time });
  let where = t("used.elsewhere");
  if (earlier.this_event) {
    where = t("used.this_event");
  } else if (earlier.here) {
    where = t("used.here");
  } else if (earlier.venue_name) {
    where = t("used.venue", { venue: earlier.venue_name });
  }
  return t("used.sentence", { when, where });
}
