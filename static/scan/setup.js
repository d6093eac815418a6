// Where the staff scan: a venue and one of today's events (or none), remembered on the device.
import * as api from "./api.js";
import { t, tn, timeOfDay } from "./i18n.js";
import { localDay } from "./offline.js";
import * as store from "./store.js";

/** The account's venues with today's events: from the server, else as last seen here. */
export async function loadVenues() {
  try {
    const { venues } = await api.venues();
    store.saveVenues({ day: localDay(), venues });
    return { venues, fromServer: true };
  } catch (error) {
    if (!error.unreachable) {
      throw error;
    }
    const kept = store.loadVenues();
    // Yesterday's events are no use today; the venues still are.
    const stale = kept?.day !== localDay();
    const venues = (kept?.venues ?? []).map((venue) => (stale ? { ...venue, events: [] } : venue));
    return { venues, fromServer: false };
  }
}

/** The remembered place, if it still exists; an event choice holds for its own day only. */
export function rememberedPlace(venues) {
  const saved = store.loadPlace();
  const venue = venues.find((v) => v.id === saved?.venue_id);
  if (!venue) {
    return null;
  }
  if (saved.event_id == null) {
    return { venue, event: null };
  }
  const event = saved.day === localDay() ? venue.events.find((e) => e.id === saved.event_id) : null;
  return event ? { venue, event } : null;
}

/** A place that needs no choice: the account's only venue, when it has no events today. */
export function obviousPlace(venues) {
  return venues.length === 1 && venues[0].events.length === 0 ? { venue: venues[0], event: null } : null;
}

export function savePlace(place) {
  store.savePlace({ venue_id: place.venue.id, event_id: place.event?.id ?? null, day: localDay() });
}

/** "19.00 · Kevätnäytös", and the places left as the list of venues said (for the choice). */
export function eventLabel(event, withPlacesLeft = false) {
  const parts = [timeOfDay(event.starts_at), event.title];
  if (withPlacesLeft && event.left !== null && event.left !== undefined) {
    parts.push(tn("setup.left", event.left));
  }
  return parts.join(" · ");
}

/** Draw the choice; `onChosen(place)` when the staff start scanning. */
export function showSetup(section, venues, onChosen) {
  const form = section.querySelector("#setup-form");
  const venueList = section.querySelector("[data-venues]");
  const error = section.querySelector("[data-setup-error]");
  const saved = store.loadPlace();
  const first = venues.find((v) => v.id === saved?.venue_id) ?? venues[0];
  section.querySelector("#venue-choice").hidden = venues.length < 2;
  venueList.replaceChildren(...venues.map((venue) => choice("venue", venue.id, venueLabel(venue),
    venue === first)));
  error.hidden = venues.length > 0;
  error.textContent = venues.length ? "" : t("setup.no_venues");
  form.querySelector('[type="submit"]').hidden = venues.length === 0;
  const drawEvents = () => showEvents(section, chosenVenue(form, venues), saved);
  venueList.onchange = drawEvents;
  drawEvents();
  form.onsubmit = (submit) => {
    submit.preventDefault();
    const venue = chosenVenue(form, venues);
    if (!venue) {
      return;
    }
    const eventId = Number(form.elements.event?.value) || null;
    const place = { venue, event: venue.events.find((e) => e.id === eventId) ?? null };
    savePlace(place);
    onChosen(place);
  };
}

function chosenVenue(form, venues) {
  const checked = form.querySelector('input[name="venue"]:checked');
  return venues.find((v) => String(v.id) === checked?.value) ?? null;
}

function venueLabel(venue) {
  return venue.active ? venue.name : `${venue.name} (${t("setup.inactive")})`;
}

function showEvents(section, venue, saved) {
  const list = section.querySelector("[data-events]");
  const events = venue?.events ?? [];
  const wanted = saved?.day === localDay() ? saved.event_id : null;
  const selected = events.some((e) => e.id === wanted) ? wanted : null;
  const items = [choice("event", "", t("setup.no_event"), selected === null)];
  for (const event of events) {
    items.push(choice("event", event.id, eventLabel(event, true), event.id === selected));
  }
  if (!events.length) {
    const note = document.createElement("p");
    note.className = "hint";
    note.textContent = t("setup.no_events_today");
    items.push(note);
  }
  list.replaceChildren(...items);
  section.querySelector("#event-choice").hidden = !venue;
}

function choice(name, value, label, checked) {
  const wrapper = document.createElement("label");
  wrapper.className = "choice big-choice";
  const input = document.createElement("input");
  input.type = "radio";
  input.name = name;
  input.value = String(value);
  input.checked = checked;
  const text = document.createElement("span");
  text.textContent = label;
  wrapper.append(input, text);
  return wrapper;
}
