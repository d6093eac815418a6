// static/scan/checker.js held to tests/vectors/rules.json, the vectors app/rules.py passes.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, test } from "node:test";

import {
  InvalidTickets,
  cardFromPayload,
  decide,
  eventFromBundle,
  localDate,
  registerFacts,
  venueFromBundle,
} from "../../static/scan/checker.js";

const doc = JSON.parse(readFileSync(new URL("../vectors/rules.json", import.meta.url), "utf8"));
const { regions, vectors } = doc;
const MIN_OFFLINE_VECTORS = 40;

const REVOKED_STATUSES = ["deactivated", "lost", "replaced"];
const DAY_MS = 86400000;

/** The bundle the server sends for a vector's card, the register: revoked, or its facts as changed. */
function registerBundle(vector) {
  const { card } = vector;
  const region = regions[card.region];
  const today = localDate(vector.now);
  const days = Math.round((Date.parse(card.valid_until) - Date.parse(today)) / DAY_MS);
  const revoked = REVOKED_STATUSES.includes(card.status);
  return {
    regions: { [region.id]: region },
    revoked: revoked ? [card.number] : [],
    revoked_as: card.status === "deactivated" || !revoked ? {} : { [card.number]: [card.status, card.replaced_by] },
    changed: { base: today, width: card.number.length, cards: revoked ? [] : [[days, card.children, card.number]] },
  };
}

/** A vector with `qr` has an older printout: the device reads it and the bundle's register. */
function cardOf(vector) {
  if (!vector.qr) return vector.card && { ...vector.card, region: regions[vector.card.region] };
  const { card, qr } = vector;
  const payload = { number: card.number, regionId: regions[card.region].id, validUntil: qr.valid_until,
    children: qr.children, kind: card.kind };
  return cardFromPayload(payload, registerBundle(vector));
}

/** Turn one vector into decide()'s arguments, resolving region keys to rule objects. */
function inputs(vector) {
  const card = cardOf(vector);
  const venue = { ...vector.venue, region: regions[vector.venue.region] };
  return [card, venue, vector.event, vector.tickets, vector.history, vector.now];
}

function assertVerdict(vector) {
  const verdict = decide(...inputs(vector));
  const { expect } = vector;
  assert.equal(verdict.reason, expect.reason);
  if ("allowed" in expect) {
    // As in Python's Allowed, persons defaults to the three kinds added up.
    const { adults, children, assistants } = expect.allowed;
    assert.deepEqual(verdict.allowed, { persons: adults + children + assistants, ...expect.allowed });
  }
  if ("uses_in_period" in expect) assert.equal(verdict.uses_in_period, expect.uses_in_period);
  if ("places_left" in expect) assert.equal(verdict.places_left, expect.places_left);
  if ("earlier_visit" in expect) assert.deepEqual(verdict.earlier_visit, expect.earlier_visit);
  assert.equal(verdict.replaced_by, expect.replaced_by ?? null);
}

const ran = { offline: 0, online: 0 };

for (const vector of vectors.filter((v) => !v.online_only)) {
  test(`vector: ${vector.name}`, () => {
    assertVerdict(vector);
    ran.offline += 1;
  });
}

// The device has the bundle's rules and its own records, so it decides these too.
for (const vector of vectors.filter((v) => v.online_only)) {
  test(`online-only vector, decided offline too: ${vector.name}`, () => {
    assertVerdict(vector);
    ran.online += 1;
  });
}

after(() => {
  const offline = vectors.filter((v) => !v.online_only).length;
  assert.equal(ran.offline, offline, "not every offline vector passed");
  assert.ok(ran.offline >= MIN_OFFLINE_VECTORS, `only ${ran.offline} offline vectors ran`);
  console.log(`# vectors passed: ${ran.offline} offline + ${ran.online} online-only of ${vectors.length}`);
});

test("at least 40 vectors are for the offline checker", () => {
  assert.ok(vectors.filter((v) => !v.online_only).length >= MIN_OFFLINE_VECTORS);
});

// --- malformed requests, as in tests/test_rules.py --------------------------------------

const north = regions.north;
const NOW = "2026-03-15T12:00:00+02:00";
const activeCard = {
  number: "7KQD-3MZP-X",
  kind: "personal",
  status: "active",
  region: north,
  valid_until: "2026-12-31",
  children: 2,
  replaced_by: null,
};
const inactiveVenue = { id: 10, active: false, region: north };
const MALFORMED = {
  "two adults": { adults: 2 },
  "negative adults": { adults: -1, assistants: 1 },
  "two assistants": { assistants: 2 },
  "negative children": { children: -1 },
  nobody: { adults: 0, children: 0, assistants: 0 },
  "half a child": { children: 0.5 },
  "a string": { adults: "1" },
};

// Shared with Python: what no card holds, refused by the limits the bundle carries.
const SHARED_MALFORMED = Object.fromEntries(doc.malformed.map((m) => [m.name, m.tickets]));

for (const [name, tickets] of Object.entries({ ...MALFORMED, ...SHARED_MALFORMED })) {
  for (const card of [activeCard, null]) {
    test(`malformed tickets (${name}) raise InvalidTickets before any verdict, ${card ? "known" : "no"} card`, () => {
      assert.throws(
        () => decide(card, inactiveVenue, null, tickets, [], NOW, doc.limits),
        (error) => error instanceof InvalidTickets && error.name === "InvalidTickets",
      );
    });
  }
}

test("the most children any card holds is a verdict, not a malformed request", () => {
  const most = doc.limits.max_ticket_children;
  const verdict = decide(activeCard, { id: 10, active: true, region: north }, null,
    { children: most }, [], NOW, doc.limits);
  assert.equal(verdict.reason, "too_many_children");
});

test("missing ticket counts take Python's defaults: one adult", () => {
  const verdict = decide(activeCard, { id: 10, active: true, region: north }, null, {}, [], NOW);
  assert.equal(verdict.reason, "ok");
});

test("a now without an offset is refused", () => {
  const venue = { id: 10, active: true, region: north };
  assert.throws(() => decide(activeCard, venue, null, {}, [], "2026-03-15T12:00:00"), /offset/);
});

test("a Date works as now", () => {
  const venue = { id: 10, active: true, region: north };
  assert.equal(decide(activeCard, venue, null, {}, [], new Date("2027-01-01T00:30:00+02:00")).reason, "expired");
});

test("unknown rule values are rejected", () => {
  const venue = { id: 10, active: true, region: north };
  const course = { id: 1, kind: "concert", quota: null, persons_taken: 0 };
  assert.throws(() => decide({ ...activeCard, status: "stolen" }, venue, null, {}, [], NOW));
  assert.throws(() => decide({ ...activeCard, kind: "family" }, venue, null, {}, [], NOW));
  assert.throws(() => decide(activeCard, venue, course, {}, [], NOW));
  assert.throws(() => decide({ ...activeCard, region: { ...north, period: "week" } }, venue, null, {}, [], NOW));
});

test("the local date is Helsinki's, in summer and in winter", () => {
  assert.equal(localDate("2026-06-30T20:59:00Z"), "2026-06-30");
  assert.equal(localDate("2026-06-30T21:00:00Z"), "2026-07-01");
  assert.equal(localDate("2025-12-31T21:59:00+00:00"), "2025-12-31");
  assert.equal(localDate("2025-12-31T22:00:00+00:00"), "2026-01-01");
});

// --- from the offline bundle to decide()'s inputs ---------------------------------------

const bundle = {
  generated_at: "2026-03-15T08:00:00+02:00",
  venue: { id: 10, name: "Theatre", region_id: 1, active: true, category: "theatre" },
  keys: {},
  regions: { 1: { ...regions.north }, 3: { ...regions.island } },
  revoked: ["M4T6PV2587"],
  events: [{ id: 100, title: "Play", starts_at: "2026-03-15T19:00:00+02:00", kind: "event", quota: 10, left: 3 }],
  recent_visits: [],
};
const payload = {
  version: 1,
  keyId: 1,
  number: "R13375J1HK",
  regionId: 1,
  validUntil: "2026-12-31",
  children: 2,
  kind: "personal",
};

test("a verified payload becomes an active card of its region", () => {
  const card = cardFromPayload(payload, bundle);
  assert.equal(card.status, "active");
  assert.equal(card.region.id, 1);
  assert.equal(card.valid_until, "2026-12-31");
  assert.equal(decide(card, venueFromBundle(bundle), null, { children: 2 }, [], NOW).reason, "ok");
});

test("a revoked number is a deactivated card, from the bundle or from the device", () => {
  const revoked = { ...payload, number: "M4T6PV2587" };
  assert.equal(cardFromPayload(revoked, bundle).status, "deactivated");
  assert.equal(cardFromPayload(payload, bundle, new Set(["R13375J1HK"])).status, "deactivated");
  const verdict = decide(cardFromPayload(revoked, bundle), venueFromBundle(bundle), null, {}, [], NOW);
  assert.equal(verdict.reason, "deactivated");
});

test("the register's facts of a changed card win over its printout; other cards keep theirs", () => {
  const changed = { base: "2026-03-15", width: 10, cards: [[-3, 0, "A000000000B000000000"], [364, 1, "0000000001R13375J1HK"]] };
  const withChanged = { ...bundle, changed };
  const card = cardFromPayload({ ...payload, validUntil: "2026-03-01" }, withChanged);
  assert.deepEqual([card.valid_until, card.children], ["2027-03-14", 1]);
  assert.deepEqual(registerFacts(withChanged, "B000000000"), { valid_until: "2026-03-12", children: 0 });
  assert.equal(registerFacts(withChanged, "0000000002"), null);
  assert.equal(registerFacts(withChanged, "00000000"), null);
  const other = cardFromPayload({ ...payload, number: "M4T6PV2588" }, withChanged);
  assert.deepEqual([other.valid_until, other.children], ["2026-12-31", 2]);
  assert.equal(registerFacts(bundle, payload.number), null); // a bundle from before `changed`
});

test("a revoked number the bundle knows as lost or replaced says so; others are deactivated", () => {
  const revokedAs = { ...bundle, revoked: ["M4T6PV2587", "R13375J1HK"], revoked_as: { R13375J1HK: ["replaced", "0000000001"] } };
  assert.deepEqual([cardFromPayload(payload, revokedAs).status, cardFromPayload(payload, revokedAs).replaced_by],
    ["replaced", "0000000001"]);
  const other = cardFromPayload({ ...payload, number: "M4T6PV2587" }, revokedAs);
  assert.deepEqual([other.status, other.replaced_by], ["deactivated", null]);
  const onDevice = cardFromPayload({ ...payload, number: "0000000002" }, revokedAs, ["0000000002"]);
  assert.deepEqual([onDevice.status, onDevice.replaced_by], ["deactivated", null]);
});

test("a region the bundle does not know is wrong_region", () => {
  const card = cardFromPayload({ ...payload, regionId: 99 }, bundle);
  assert.deepEqual([card.region.id, card.region.national_network], [99, false]);
  assert.equal(decide(card, venueFromBundle(bundle), null, {}, [], NOW).reason, "wrong_region");
});

test("a community payload admits its region's group size", () => {
  const card = cardFromPayload({ ...payload, kind: "community", children: 0 }, bundle);
  const verdict = decide(card, venueFromBundle(bundle), null, { children: 10 }, [], NOW);
  assert.deepEqual([verdict.reason, verdict.allowed.children], ["ok", 10]);
});

test("a bundle event's places left, less the device's own records, cap the tickets offline", () => {
  const card = cardFromPayload(payload, bundle);
  const venue = venueFromBundle(bundle);
  const event = eventFromBundle(bundle.events[0]);
  assert.equal(event.persons_taken, 7);
  const three = decide(card, venue, event, { children: 2 }, [], NOW);
  assert.deepEqual([three.reason, three.places_left, three.allowed.persons], ["ok", 3, 3]);
  const two = decide(card, venue, eventFromBundle(bundle.events[0], 1), { children: 2 }, [], NOW);
  assert.deepEqual([two.reason, two.places_left, two.allowed.persons], ["too_few_places", 2, 2]);
  assert.equal(decide(card, venue, eventFromBundle(bundle.events[0], 3), {}, [], NOW).reason, "event_full");
});
