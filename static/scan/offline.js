// Working without a network (DESIGN §6): the offline bundle, decisions on the device, the
// queue of records waiting for the server, and sending them when the network returns.
import * as api from "./api.js";
import * as store from "./store.js";

const SYNC_BATCH = 100;
const ONE_TICKET = { adults: 1, children: 0, assistants: 0 };

let modules = null;
// The account signed in on this page: queued records carry it, and only its own are sent.
let account = null;
// Sending the queue and undoing run one at a time, so neither sees the other half done.
let chain = Promise.resolve();

export function setAccount(id) {
  account = id ? String(id) : null;
}

/** Run `task` after every sync or undo started before it has finished. */
function serial(task) {
  const run = chain.then(task, task);
  chain = run.catch(() => {});
  return run;
}

/** Whether a queued item belongs to the signed-in account (items from before accounts: yes). */
function ours(item) {
  return item.account == null || item.account === account;
}

/** codes.js and checker.js, loaded on first use (the online path never needs them). */
export function offlineModules() {
  modules ??= Promise.all([import("./codes.js"), import("./checker.js")])
    .then(([codes, checker]) => ({ codes, checker }))
    .catch((error) => {
      modules = null;
      throw error;
    });
  return modules;
}

/** A card number without grouping, for comparisons. */
export function canon(number) {
  return String(number ?? "").replace(/[\s-]/g, "").toUpperCase();
}

/** Today's local date in Finland, YYYY-MM-DD. */
export function localDay(date = new Date()) {
  return new Intl.DateTimeFormat("sv-SE", { timeZone: "Europe/Helsinki" }).format(date);
}

/** Now as ISO 8601 with the device's offset, as the API wants `occurred_at`. */
export function isoNow(date = new Date()) {
  const pad = (n, size = 2) => String(Math.abs(n)).padStart(size, "0");
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`
    + `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
    + `.${pad(date.getMilliseconds(), 3)}${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`;
}

export function newNonce() {
  if (crypto.randomUUID) {
    return crypto.randomUUID();
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// --- The bundle --------------------------------------------------------------------------

// The bundle last fetched or read, kept in memory too: with many changed cards it is a
// megabyte, too much to read back from IndexedDB at every scan.
let current = null;

export async function refreshBundle(venueId) {
  const bundle = await api.offlineBundle(venueId);
  const kept = { venue_id: venueId, fetched_at: Date.now(), bundle };
  await store.put("bundles", kept);
  current = kept;
  return bundle;
}

export async function bundleAge(venueId) {
  const kept = await store.get("bundles", venueId);
  return kept ? Date.now() - kept.fetched_at : Infinity;
}

async function bundleFor(venueId) {
  if (current?.venue_id !== venueId) {
    current = (await store.get("bundles", venueId)) ?? null;
  }
  return current ? { ...current.bundle, fetchedAt: current.fetched_at } : null;
}

// --- Deciding on the device ----------------------------------------------------------------

/** The verdict for a code without the server: signature, card, then the shared rule checker. */
export async function decideOffline(text, place, tickets = ONE_TICKET) {
  const { codes, checker } = await offlineModules();
  const bundle = await bundleFor(place.venue.id);
  let parsed;
  try {
    parsed = await codes.parseCode(text, bundle?.keys ?? {});
  } catch (error) {
    if (!error.reason) {
      throw error; // a broken bundle, not a verdict on the card
    }
    // Without the bundle's keys no signature can be checked; the server will check it later.
    if (!bundle && error.reason === "bad_signature") {
      return unverified(null);
    }
    return { verdict: "refused", reason: error.reason, card: null, offline: true };
  }
  if (!parsed.payload || !bundle) {
    return unverified(codes.formatNumber(parsed.number));
  }
  const card = checker.cardFromPayload(parsed.payload, bundle);
  const history = await historyFor(parsed.number, bundle);
  const result = checker.decide(card, checker.venueFromBundle(bundle),
    await eventOf(bundle, place.event), tickets, history, new Date(), bundle.limits);
  return {
    verdict: result.reason === "ok" ? "ok" : "refused",
    reason: result.reason,
    card: cardView(parsed.payload, card, bundle, codes),
    allowed: result.allowed,
    uses_in_period: result.uses_in_period,
    replaced_by: result.replaced_by ?? null,
    places_left: result.places_left ?? null,
    earlier_visit: earlierView(result.earlier_visit, bundle, place),
    offline: true,
  };
}

/** The checker's earlier visit as the API words it: when, and whether here or for this event. */
function earlierView(visit, bundle, place) {
  if (!visit) {
    return null;
  }
  const here = visit.venue_id === bundle.venue.id;
  return { occurred_at: visit.occurred_at, here,
    this_event: place.event != null && visit.event_id === place.event.id,
    venue_name: here ? bundle.venue.name : null };
}

function unverified(number) {
  return {
    verdict: "unverified", reason: "unverified", offline: true,
    card: number ? { number } : null,
    // The server decides at sync; these are only what a card could ever allow.
    allowed: { adults: 1, children: 9, assistants: 1 },
  };
}

/** What the verdict shows: the register's validity and children where the bundle has them. */
function cardView(payload, card, bundle, codes) {
  return {
    number: codes.formatNumber(payload.number),
    valid_until: card.valid_until,
    children: card.children,
    kind: payload.kind,
    region: bundle.regions?.[payload.regionId]?.code ?? null,
    region_names: bundle.regions?.[payload.regionId]?.names ?? null,
    period: bundle.regions?.[payload.regionId]?.period ?? "month",
  };
}

async function eventOf(bundle, event) {
  if (!event) {
    return null;
  }
  const { checker } = await offlineModules();
  const known = (bundle.events ?? []).find((e) => e.id === event.id) ?? event;
  // The bundle's count, plus what this device recorded since: other devices' records since
  // then are unknown, so this can admit one too many but never refuses a free place.
  const since = (await notInBundle(bundle)).filter((record) => record.event_id === event.id)
    .reduce((sum, record) => sum + record.adults + record.children + record.assistants, 0);
  return checker.eventFromBundle(known, since);
}

async function historyFor(number, bundle) {
  const wanted = canon(number);
  const venueId = bundle.venue.id;
  const fromServer = (bundle.recent_visits ?? [])
    .filter((visit) => canon(visit.card_number) === wanted)
    .map((visit) => ({ venue_id: visit.venue_id ?? venueId, event_id: visit.event_id ?? null,
      occurred_at: visit.occurred_at }));
  const mine = (await notInBundle(bundle)).filter((record) => record.card_number === wanted)
    .map((record) => ({ venue_id: record.venue_id, event_id: record.event_id,
      occurred_at: record.occurred_at }));
  return [...fromServer, ...mine];
}

/**
 * This device's ok records the bundle cannot contain: unsent, or made after it was fetched.
 * One the server flagged as a conflict counts towards nothing, as on the server.
 */
async function notInBundle(bundle) {
  return (await store.all("records")).filter((record) => record.status === "ok"
    && !record.conflict && (record.pending || record.saved_at >= bundle.fetchedAt));
}

// --- This device's records and the queue ------------------------------------------------

/** Remember a record made on this device: history for offline duplicates, and today's list. */
export async function remember(body, number, extra = {}) {
  const record = {
    nonce: body.nonce, day: localDay(new Date(body.occurred_at)), card_number: canon(number),
    number, venue_id: body.venue_id, event_id: body.event_id ?? null,
    occurred_at: body.occurred_at, adults: body.adults, children: body.children,
    assistants: body.assistants, status: "ok", visit_id: null, pending: false,
    saved_at: Date.now(), ...extra,
  };
  await store.put("records", record);
  return record;
}

/** Put a redeem body in the queue; it leaves the queue only when the server answers for it. */
export async function enqueue(body, number, verified) {
  const item = { nonce: body.nonce, body: { ...body, verified }, queued_at: Date.now(), account };
  await store.put("queue", item);
  return remember(body, number, { pending: true, verified, account });
}

/**
 * The staff's own undo, after any sync under way: the record as it stands now decides. One
 * the server has (a visit id) is annulled there; an unsent one just leaves the queue.
 */
export function undoRecord(target) {
  return serial(async () => {
    const record = target.nonce ? await store.get("records", target.nonce) : null;
    if (record && !ours(record)) {
      throw new api.ApiError("forbidden", 403); // another account's record on this phone
    }
    const visitId = record?.visit_id ?? target.visit_id ?? null;
    if (visitId != null) {
      await api.annul(visitId);
      await markAnnulled(visitId);
      if (record) {
        await markRecord(record.nonce, { status: "annulled", annul_wanted: false });
      }
    } else if (record?.pending || target.pending) {
      await withdraw(target.nonce);
    } else {
      throw new api.ApiError("unknown", 0);
    }
  });
}

/** Take an unsent record back: nothing reached the server yet. */
export async function withdraw(nonce) {
  await store.remove("queue", nonce);
  await markRecord(nonce, { status: "annulled", pending: false });
}

export async function markRecord(nonce, changes) {
  const record = await store.get("records", nonce);
  if (record) {
    await store.put("records", { ...record, ...changes });
  }
}

/** A sent record was annulled on the server: it no longer counts as a use on this device. */
export async function markAnnulled(visitId) {
  for (const record of await store.all("records")) {
    if (record.visit_id === visitId) {
      await store.put("records", { ...record, status: "annulled" });
    }
  }
}

/** How many of the signed-in account's records wait to be sent. */
export async function waiting() {
  return (await store.all("queue")).filter(ours).length;
}

/**
 * Send the queue. Items leave it one by one, as the server answers for their nonce with a
 * final answer (recorded, or refused for good); a failed request leaves everything in place
 * for the next try, and so does an item the server could not take this time (say, a venue
 * the account may no longer scan at): it is marked, never dropped.
 */
export function syncQueue() {
  return serial(sendQueue);
}

async function sendQueue() {
  await annulWanted();
  // Another account's records wait until it signs in again: never sent under this one's name.
  const items = (await store.all("queue")).filter(ours).sort((a, b) => a.queued_at - b.queued_at);
  const summary = { sent: 0, refused: [], failed: [], conflicts: 0 };
  for (let start = 0; start < items.length; start += SYNC_BATCH) {
    const batch = items.slice(start, start + SYNC_BATCH);
    const answer = await api.sync(batch.map((item) => item.body));
    for (const result of answer.results ?? []) {
      if (batch.some((item) => item.nonce === result.nonce)) {
        await settle(result, summary);
      }
    }
  }
  return summary;
}

/** Records undone while their sync was under way: annul the visits the server made of them. */
async function annulWanted() {
  for (const record of await store.all("records")) {
    if (record.annul_wanted && record.visit_id != null && ours(record)) {
      try {
        await api.annul(record.visit_id);
      } catch (error) {
        if (error.unreachable || error.code === "login_required") {
          throw error; // try again with the next sync
        }
        console.warn("scanner: a visit undone on the device could not be annulled", error);
      }
      await markRecord(record.nonce, { annul_wanted: false });
    }
  }
}

/** The reason code of a sync result: the verdict's, or the error's for a refused record. */
export function resultReason(result) {
  return result.error?.code ?? result.reason ?? "unknown";
}

async function settle(result, summary) {
  const failed = result.verdict !== "ok" && result.verdict !== "refused";
  if (failed && !result.final) {
    await markRecord(result.nonce, { failed: resultReason(result) });
    summary.failed.push(result);
    return;
  }
  const ok = result.verdict === "ok";
  const record = await store.get("records", result.nonce);
  if (record?.status === "annulled") {
    // Undone on the device while it was being sent: it stays undone, on the server too.
    await store.remove("queue", result.nonce);
    if (ok && result.visit_id != null) {
      await markRecord(result.nonce, { pending: false, failed: null, visit_id: result.visit_id,
        annul_wanted: true });
      try {
        await api.annul(result.visit_id);
        await markRecord(result.nonce, { annul_wanted: false });
      } catch (error) {
        console.warn("scanner: annul after sync failed; tried again at the next sync", error);
      }
    }
    return;
  }
  // Refused for good (a verdict, or a record the server can never take): sending it again
  // would change nothing, so it leaves the queue and the seller is told why.
  await markRecord(result.nonce, {
    pending: false, failed: null, visit_id: result.visit_id ?? null,
    status: ok ? "ok" : "refused", reason: resultReason(result), conflict: Boolean(result.conflict),
  });
  await store.remove("queue", result.nonce);
  summary.sent += 1;
  if (!ok) {
    summary.refused.push(result);
  }
  if (result.conflict) {
    summary.conflicts += 1;
  }
}
