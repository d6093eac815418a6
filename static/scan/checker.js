/** The verdict at the door, offline (DESIGN §4, §6): the browser twin of app/rules.py. */

/** The request itself is malformed, whatever the card. */
export class InvalidTickets extends Error {
  constructor(message) {
    super(message);
    this.name = "InvalidTickets";
  }
}

const STATUS_REASONS = {
  unissued: "not_issued",
  active: null,
  deactivated: "deactivated",
  lost: "lost",
  replaced: "replaced",
};

// The defaults of Python's RegionRules.
const REGION_DEFAULTS = {
  national_network: false,
  validity: "months",
  validity_months: 12,
  min_age: 16,
  child_max_age: 17,
  period_limit: null,
  period: "month",
  community_group_size: 10,
};

const HELSINKI = new Intl.DateTimeFormat("en-CA", {
  timeZone: "Europe/Helsinki",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
});
const AWARE = /(?:Z|[+-]\d{2}:\d{2})$/i;

function requireOneOf(value, choices, field) {
  // Rules read these strings in comparisons; a typo must fail loudly, not pass.
  if (!choices.includes(value)) throw new Error(`${field} must be one of ${choices}, not ${value}`);
}

/** Return the Finnish calendar date ("YYYY-MM-DD") of a Date or an ISO string with an offset. */
export function localDate(moment) {
  if (typeof moment === "string" && !AWARE.test(moment)) {
    throw new Error(`an ISO datetime with an offset is required, not ${moment}`);
  }
  const date = moment instanceof Date ? moment : new Date(moment);
  if (Number.isNaN(date.getTime())) throw new Error(`not a datetime: ${moment}`);
  const part = Object.fromEntries(HELSINKI.formatToParts(date).map(({ type, value }) => [type, value]));
  return `${part.year.padStart(4, "0")}-${part.month}-${part.day}`;
}

function checkTickets({ adults = 1, children = 0, assistants = 0 }, limits) {
  if (![adults, children, assistants].every(Number.isInteger)) {
    throw new InvalidTickets("tickets must be whole numbers");
  }
  if (adults !== 0 && adults !== 1) throw new InvalidTickets("adults must be 0 or 1");
  if (assistants !== 0 && assistants !== 1) throw new InvalidTickets("assistants must be 0 or 1");
  if (children < 0) throw new InvalidTickets("children must not be negative");
  // The most children any card holds comes with the bundle (app/rules.py MAX_TICKET_CHILDREN).
  const most = limits?.max_ticket_children;
  if (most != null && children > most) throw new InvalidTickets(`no card holds more than ${most} children`);
  if (adults + children + assistants < 1) throw new InvalidTickets("at least one person is required");
  return { adults, children, assistants };
}

/** Return the most tickets of each kind the card admits, here for `event`. */
export function allowedFor(card, event) {
  const onCourse = event?.kind === "course";
  const kinds = card.kind === "community"
    ? { adults: 1, children: card.region.community_group_size, assistants: 0 }
    : { adults: 1, children: onCourse ? 0 : card.children, assistants: 1 };
  return { ...kinds, persons: kinds.adults + kinds.children + kinds.assistants };
}

/** Return the persons the event's quota still admits, or null without a quota. */
export function placesLeft(event) {
  if (event?.quota == null) return null;
  return Math.max(event.quota - (event.persons_taken ?? 0), 0);
}

/** Return `allowed` capped by the places left: no kind, and not all together, above it. */
export function capAllowed(allowed, left) {
  if (left == null) return allowed;
  const cap = (n) => Math.min(n, left);
  return { adults: cap(allowed.adults), children: cap(allowed.children),
    assistants: cap(allowed.assistants), persons: cap(allowed.persons) };
}

function samePeriod(region, day, today) {
  const length = region.period === "year" ? 4 : 7; // "YYYY" or "YYYY-MM"
  return day.slice(0, length) === today.slice(0, length);
}

function accepts(venueRegion, cardRegion) {
  if (venueRegion.id === cardRegion.id) return true;
  return Boolean(venueRegion.national_network && cardRegion.national_network);
}

function cardRefusal(card, venue, today) {
  if (!venue.active) return "venue_inactive";
  const statusReason = STATUS_REASONS[card.status];
  if (statusReason !== null) return statusReason;
  // An active card without an end date breaks an invariant: refuse, never admit.
  if (card.valid_until == null || today > card.valid_until) return "expired";
  if (!accepts(venue.region, card.region)) return "wrong_region";
  return null;
}

/** The latest visit that makes this one a repeat, or null. */
function earlierVisit(venue, event, history, today) {
  const repeats = event
    ? history.filter((visit) => visit.event_id === event.id)
    : // Any visit here today counts, with or without an event.
      history.filter((visit) => visit.venue_id === venue.id && localDate(visit.occurred_at) === today);
  const at = (visit) => new Date(visit.occurred_at).getTime();
  return repeats.reduce((latest, visit) => (latest === null || at(visit) > at(latest) ? visit : latest), null);
}

function historyRefusal(card, earlier, uses) {
  if (earlier !== null) return "already_used";
  const limit = card.region.period_limit;
  if (limit != null && uses >= limit) return "period_limit";
  return null;
}

function requestRefusal(card, event, tickets, allowed, left) {
  if (card.kind === "personal" && event?.kind === "course" && tickets.children > 0) {
    return "no_children_for_courses";
  }
  if (tickets.children > allowed.children || tickets.assistants > allowed.assistants) {
    return "too_many_children";
  }
  const persons = tickets.adults + tickets.children + tickets.assistants;
  if (left != null && persons > left) return "too_few_places";
  return null;
}

/**
 * Return {reason, allowed, uses_in_period, replaced_by, places_left, earlier_visit} for `card`
 * at `venue` (and `event`) at `now`; `limits` are the bundle's (its `limits`).
 */
export function decide(card, venue, event, tickets, history, now, limits = null) {
  const request = checkTickets(tickets, limits);
  if (card == null) {
    const nothing = { adults: 0, children: 0, assistants: 0, persons: 0 };
    return { reason: "unknown_card", allowed: nothing, uses_in_period: 0, replaced_by: null,
      places_left: null, earlier_visit: null };
  }
  requireOneOf(card.kind, ["personal", "community"], "kind");
  requireOneOf(card.status, Object.keys(STATUS_REASONS), "status");
  requireOneOf(card.region.period ?? "month", ["month", "year"], "period");
  if (event) requireOneOf(event.kind, ["event", "course"], "event kind");
  const allowed = allowedFor(card, event);
  const left = placesLeft(event);
  const today = localDate(now);
  const uses = history.filter((visit) => samePeriod(card.region, localDate(visit.occurred_at), today)).length;
  const earlier = earlierVisit(venue, event, history, today);
  const reason =
    cardRefusal(card, venue, today) ??
    historyRefusal(card, earlier, uses) ??
    (left === 0 ? "event_full" : null) ??
    requestRefusal(card, event, request, allowed, left) ??
    "ok";
  const replacedBy = reason === "replaced" ? (card.replaced_by ?? null) : null;
  return { reason, allowed: capAllowed(allowed, left), uses_in_period: uses, replaced_by: replacedBy,
    places_left: left, earlier_visit: reason === "already_used" ? earlier : null };
}

// --- From the offline bundle (GET /api/scan/offline-bundle) to decide()'s inputs ----------

function regionOf(bundle, regionId) {
  const region = bundle.regions?.[regionId];
  // A region the bundle does not know cannot be accepted here: a region of its own.
  return { ...REGION_DEFAULTS, ...(region ?? { id: regionId, national_network: false }) };
}

/** Whether `number` is one of the `width`-character numbers joined in order in `joined`. */
function inJoined(joined, number, width) {
  let low = 0;
  let high = joined.length / width;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const found = joined.slice(middle * width, (middle + 1) * width);
    if (found === number) return true;
    if (found < number) low = middle + 1;
    else high = middle;
  }
  return false;
}

function addDays(isoDay, days) {
  const moment = new Date(`${isoDay}T00:00:00Z`);
  moment.setUTCDate(moment.getUTCDate() + days);
  return moment.toISOString().slice(0, 10);
}

/** Return what the register said of a card changed since issue ({valid_until, children}), or null. */
export function registerFacts(bundle, number) {
  const changed = bundle.changed;
  if (!changed) return null;
  for (const [days, children, joined] of changed.cards) {
    if (inJoined(joined, number, changed.width)) return { valid_until: addDays(changed.base, days), children };
  }
  return null;
}

/**
 * Return decide()'s card for a verified payload; `revoked` adds numbers to bundle.revoked.
 * Where the bundle knows better than the printout (a renewal, children), the register wins.
 */
export function cardFromPayload(payload, bundle, revoked = []) {
  const isRevoked = (bundle.revoked ?? []).includes(payload.number) || [...revoked].includes(payload.number);
  const [status, replacedBy] = isRevoked ? (bundle.revoked_as?.[payload.number] ?? ["deactivated", null]) : ["active", null];
  const register = registerFacts(bundle, payload.number);
  return {
    number: payload.number,
    kind: payload.kind,
    status,
    region: regionOf(bundle, payload.regionId),
    valid_until: register?.valid_until ?? payload.validUntil,
    children: register?.children ?? payload.children,
    replaced_by: replacedBy,
  };
}

/** Return decide()'s venue for the bundle's venue. */
export function venueFromBundle(bundle) {
  const { id, active, region_id: regionId } = bundle.venue;
  return { id, active, region: regionOf(bundle, regionId) };
}

/** Return decide()'s event for one of the bundle's events; add persons recorded since the bundle. */
export function eventFromBundle(bundleEvent, personsSince = 0) {
  const { id, kind, quota, left } = bundleEvent;
  return { id, kind, quota, persons_taken: (quota == null ? 0 : quota - left) + personsSince };
}
