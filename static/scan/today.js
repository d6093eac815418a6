// Today's list for the venue and event: time, tickets, the card number shortened, and undo.
import * as api from "./api.js";
import { errorText, refusalText, t, timeOfDay } from "./i18n.js";
import { localDay } from "./offline.js";
import * as store from "./store.js";

/** "…K-TKB": enough of the number to tell the cards of one day apart, no more. */
export function shortNumber(number) {
  return number ? `…${String(number).slice(-5)}` : "…";
}

export function ticketsText(visit) {
  return t("tickets.short", { adults: visit.adults, children: visit.children, assistants: visit.assistants });
}

/** The visits to list: the server's, and this device's records the server has not had yet. */
export async function todaysVisits(place, offline) {
  const mine = (await store.all("records")).filter((record) => record.day === localDay()
    && record.venue_id === place.venue.id && (place.event ? record.event_id === place.event.id : true));
  const local = mine.map(fromRecord);
  if (offline) {
    return { visits: local.sort(byTime), complete: false };
  }
  const { visits } = await api.today(place.venue.id, place.event?.id ?? null);
  // Sent records are in the server's list; unsent ones and those it refused are not.
  const unsent = local.filter((visit) => visit.pending || visit.status === "refused");
  return { visits: [...visits.map((v) => ({ ...v, pending: false })), ...unsent].sort(byTime), complete: true };
}

function fromRecord(record) {
  return {
    id: record.visit_id, nonce: record.nonce, occurred_at: record.occurred_at,
    card_number: record.number, adults: record.adults, children: record.children,
    assistants: record.assistants, event_id: record.event_id, status: record.status,
    reason: record.reason, pending: record.pending, verified: record.verified !== false,
    failed: record.failed ?? null,
    mine: true, can_annul: record.pending || (record.status === "ok" && record.visit_id !== null
      && Date.now() - new Date(record.occurred_at).getTime() < 15 * 60 * 1000),
  };
}

function byTime(a, b) {
  return new Date(b.occurred_at) - new Date(a.occurred_at);
}

/** Draw the list; `onUndo(visit)` for each visit the staff member may still take back. */
export function drawVisits(list, visits, onUndo) {
  list.replaceChildren(...visits.map((visit) => visitItem(visit, onUndo)));
}

function visitItem(visit, onUndo) {
  const item = document.createElement("li");
  item.className = `visit status-${visit.pending ? "pending" : visit.status}`;
  const time = document.createElement("time");
  time.dateTime = visit.occurred_at;
  time.textContent = timeOfDay(visit.occurred_at);
  const number = document.createElement("span");
  number.className = "card-number";
  number.textContent = shortNumber(visit.card_number);
  const tickets = document.createElement("span");
  tickets.className = "visit-tickets";
  tickets.textContent = ticketsText(visit);
  item.append(time, number, tickets);
  const status = statusText(visit);
  if (status) {
    const badge = document.createElement("span");
    badge.className = "visit-status";
    badge.textContent = status;
    item.append(badge);
  }
  if (visit.can_annul && visit.status !== "annulled") {
    const undo = document.createElement("button");
    undo.type = "button";
    undo.className = "button compact";
    undo.textContent = t("action.undo");
    undo.setAttribute("aria-label", t("today.undo_label", {
      action: t("action.undo"), card: shortNumber(visit.card_number), time: time.textContent }));
    undo.addEventListener("click", () => onUndo(visit, undo));
    item.append(undo);
  }
  return item;
}

function statusText(visit) {
  if (visit.failed) {
    return t("today.failed", { reason: errorText(visit.failed) });
  }
  if (visit.pending) {
    return visit.verified ? t("today.pending") : `${t("today.pending")} · ${t("today.unverified")}`;
  }
  if (visit.status === "annulled") {
    return t("today.annulled");
  }
  if (visit.status === "refused") {
    return t("today.refused", { reason: refusalText(visit.reason) });
  }
  return "";
}
