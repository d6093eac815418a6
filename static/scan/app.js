// The box-office scanner (DESIGN §6): choose the place, then scan → verdict → record → scan.
// Every way a code arrives (camera, barcode scanner, typing) ends in one call: handleCode.
import * as api from "./api.js";
import { Camera } from "./camera.js";
import * as feedback from "./feedback.js";
import { Connection } from "./connection.js";
import { errorText, loadTexts, t, translate } from "./i18n.js";
import * as offline from "./offline.js";
import * as setup from "./setup.js";
import * as store from "./store.js";
import { drawVisits, shortNumber, ticketsText, todaysVisits } from "./today.js";
import { VerdictView } from "./verdict.js";
import { listenForWedge, watchTyping } from "./wedge.js";

const BACKGROUND_EVERY_MS = 20 * 1000;
const UNDO_WINDOW_MS = 15 * 60 * 1000;

const root = document.getElementById("scanner");
const sections = {
  setup: root.querySelector("#setup"), scan: root.querySelector("#scan"), today: root.querySelector("#today"),
};
const state = { place: null, screen: null, busy: false, current: null, last: null };
const net = new Connection(root.querySelector("[data-banner]"), loginLink);
const view = new VerdictView(root.querySelector("#verdict"), {
  onRecord: record, onDismiss: backToScanning, onUndo: () => undo(state.last), loginLink,
});
const camera = new Camera({
  video: root.querySelector("[data-video]"), wasmUrl: root.dataset.wasm,
  onCode: (text) => handleCode(text, "camera"), onState: showCameraState,
});

boot().catch((error) => {
  console.error("scanner: could not start", error);
  root.querySelector("[data-boot-status]").textContent = t("error.unknown");
});

async function boot() {
  api.configure(root.dataset.api, root.dataset.scope);
  offline.setAccount(root.dataset.account);
  await loadTexts(root.dataset.texts);
  translate(root);
  registerWorker();
  store.keepStorage();
  await store.pruneRecords(offline.localDay());
  wire();
  await choosePlace(false);
  root.removeAttribute("data-loading");
  offline.offlineModules().catch(() => {}); // ready before the network goes
  net.sync();
  setInterval(() => {
    net.tick();
    showLastRecord(null);
  }, BACKGROUND_EVERY_MS);
}

function registerWorker() {
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(root.dataset.serviceWorker, { scope: root.dataset.scope })
      .catch((error) => console.warn("scanner: service worker not registered", error));
  }
}

function wire() {
  const on = (action, handler) => root.querySelector(`[data-action="${action}"]`).addEventListener("click", handler);
  on("change-place", () => choosePlace(true));
  on("show-today", showToday);
  on("back-to-scan", () => show("scan"));
  on("undo-last", () => undo(state.last));
  on("start-camera", () => camera.start());
  on("torch", async (event) => event.currentTarget.setAttribute("aria-pressed", String(await camera.toggleTorch())));
  on("switch-camera", () => camera.switchCamera());
  const form = root.querySelector("[data-manual]");
  const input = form.querySelector("input");
  const typedBy = watchTyping(input);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    if (text.trim()) {
      handleCode(text.trim(), typedBy());
    }
  });
  input.addEventListener("input", () => showTypingError(false));
  listenForWedge(document, (text) => handleCode(text, "barcode"), () => state.screen === "scan");
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) {
      camera.stop();
    } else if (state.screen === "scan") {
      camera.start();
    }
  });
}

// --- Screens ----------------------------------------------------------------------------

function show(name) {
  for (const [key, section] of Object.entries(sections)) {
    section.hidden = key !== name;
  }
  state.screen = name;
  if (name === "scan") {
    camera.start();
  } else {
    camera.stop();
  }
}

function focusHeading(section) {
  const heading = section.querySelector("h1");
  heading.tabIndex = -1;
  heading.focus();
}

async function choosePlace(askAgain) {
  let venues;
  try {
    ({ venues } = await setup.loadVenues());
  } catch (error) {
    showFatal(error.code);
    return;
  }
  const place = askAgain ? null : setup.rememberedPlace(venues) ?? setup.obviousPlace(venues);
  if (place) {
    setup.savePlace(place);
    startScanning(place);
    return;
  }
  setup.showSetup(sections.setup, venues, (chosen) => {
    startScanning(chosen);
    focusHeading(sections.scan);
  });
  show("setup");
  if (askAgain) {
    focusHeading(sections.setup);
  }
}

function loginLink() {
  const link = document.createElement("a");
  link.href = root.dataset.login;
  link.textContent = t("banner.login_link");
  return link;
}

function showFatal(code) {
  const status = root.querySelector("[data-boot-status]");
  status.textContent = errorText(code);
  if (code === "login_required") {
    status.append(" ", loginLink());
  }
  root.removeAttribute("data-loading");
}

function startScanning(place) {
  state.place = place;
  sections.scan.querySelector("[data-place-venue]").textContent = place.venue.name;
  sections.scan.querySelector("[data-place-event]").textContent = place.event ? setup.eventLabel(place.event) : "";
  show("scan");
  net.follow(place.venue.id);
}

function showCameraState({ state: cameraState, torch = false, canSwitch = false }) {
  const note = { starting: "scan.camera_starting", running: "scan.camera_hint",
    denied: "scan.camera_denied", missing: "scan.camera_missing" }[cameraState];
  root.querySelector("[data-camera-note]").textContent = t(note);
  root.querySelector("[data-camera]").classList.toggle("is-off", cameraState !== "running");
  root.querySelector('[data-action="start-camera"]').hidden = cameraState === "running" || cameraState === "starting";
  root.querySelector('[data-action="torch"]').hidden = !torch;
  root.querySelector('[data-action="switch-camera"]').hidden = !canSwitch;
}

// --- A code arrives --------------------------------------------------------------------

function placeOf(code) {
  const body = { code, venue_id: state.place.venue.id };
  if (state.place.event) {
    body.event_id = state.place.event.id;
  }
  return body;
}

/** Decide on a scanned or typed code and show the verdict; `source` is camera|barcode|manual. */
async function handleCode(text, source) {
  if (state.screen !== "scan" || state.busy || !text.trim()) {
    return;
  }
  state.busy = true;
  camera.pause();
  try {
    // A typed number whose check symbol fails is a slip of the finger, not a verdict.
    if (source !== "camera" && await mistyped(text)) {
      showTypingError(true, text);
      return;
    }
    const verdict = await decide(text);
    state.current = { code: text, source, verdict };
    showTypingError(false);
    const field = root.querySelector("#manual-number");
    if (field.value.trim() === text) {
      field.value = ""; // checked: ready for the next card (a camera read leaves typing alone)
    }
    view.showVerdict(verdict);
    if (verdict.verdict === "refused") {
      feedback.refused();
    }
  } catch (error) {
    if (error instanceof api.ApiError && error.code === "typing_error") {
      showTypingError(true, text);
    } else {
      view.showError(error instanceof api.ApiError ? error.code : "network");
    }
  } finally {
    state.busy = false;
  }
}

async function mistyped(text) {
  try {
    const { codes } = await offline.offlineModules();
    return codes.isMistypedNumber(text);
  } catch {
    return false; // without the module the server tells a typing error (typing_error)
  }
}

/** "Check the number" next to the field, the typed text kept there to be corrected. */
function showTypingError(on, text = null) {
  const input = root.querySelector("#manual-number");
  const message = root.querySelector("[data-manual-error]");
  message.hidden = !on;
  message.textContent = on ? t("scan.typing_error") : "";
  input.setAttribute("aria-invalid", String(on));
  input.setAttribute("aria-describedby", on ? "manual-error manual-hint" : "manual-hint");
  if (on) {
    if (text !== null && !input.value.trim()) {
      input.value = text; // a scanner's code, put where it can be seen and mended
    }
    camera.resume();
    input.focus();
  }
}

async function decide(code) {
  if (!net.offline) {
    try {
      const answer = await api.check(placeOf(code));
      net.setOffline(false);
      return { ...answer, offline: false };
    } catch (error) {
      if (!error.unreachable) {
        throw error;
      }
      net.setOffline(true);
    }
  }
  return offline.decideOffline(code, state.place);
}

async function record(tickets) {
  const { code, source, verdict } = state.current ?? {};
  if (!code || state.busy) {
    return;
  }
  state.busy = true;
  view.busy(true);
  try {
    if (verdict.offline) {
      await recordOffline(code, verdict, tickets);
    } else {
      await recordOnline(code, source, verdict, tickets);
    }
  } catch (error) {
    view.showError(error instanceof api.ApiError ? error.code : "network");
  } finally {
    state.busy = false;
    view.busy(false);
  }
}

function redeemBody(code, tickets, source) {
  return { ...placeOf(code), ...tickets, nonce: offline.newNonce(), occurred_at: offline.isoNow(), source };
}

async function recordOnline(code, source, verdict, tickets) {
  const body = redeemBody(code, tickets, source);
  let answer;
  try {
    answer = await api.redeem(body);
    net.setOffline(false);
  } catch (error) {
    if (!error.unreachable) {
      throw error;
    }
    // The server may have it or not; the same nonce makes sending it again safe either way.
    net.setOffline(true);
    confirm(await offline.enqueue({ ...body, source: "offline" }, verdict.card?.number, true), true);
    return;
  }
  if (answer.verdict !== "ok") {
    if (placesTaken(answer)) {
      return;
    }
    view.showVerdict({ ...answer, allowed: verdict.allowed, offline: false });
    feedback.refused();
    return;
  }
  const number = answer.card?.number ?? verdict.card?.number;
  confirm(await offline.remember(body, number, { visit_id: answer.visit_id }), false);
}

async function recordOffline(code, verdict, tickets) {
  if (verdict.verdict === "ok") {
    const again = await offline.decideOffline(code, state.place, tickets);
    if (again.verdict !== "ok") {
      if (placesTaken(again)) {
        return;
      }
      view.showVerdict(again);
      feedback.refused();
      return;
    }
  }
  const body = redeemBody(code, tickets, "offline");
  confirm(await offline.enqueue(body, verdict.card?.number ?? null, verdict.verdict === "ok"), true);
  net.sync();
}

/**
 * Places were taken between the check and Record: the answer keeps the seller's tickets on
 * screen and says how many places are left now, rather than a red verdict that loses them.
 */
function placesTaken(answer) {
  if (!["too_few_places", "event_full"].includes(answer.reason) || answer.places_left == null) {
    return false;
  }
  view.placesTaken(answer.places_left);
  return true;
}

function confirm(recorded, queued) {
  feedback.recorded();
  state.current = null;
  state.last = recorded;
  const summary = `${shortNumber(recorded.number)} · ${ticketsText(recorded)}`;
  view.showConfirmation(t("confirm.recorded"), queued ? `${t("confirm.queued")} ${summary}` : summary);
  showLastRecord(null);
  net.updateBanner();
}

function backToScanning() {
  state.current = null;
  camera.resume();
}

// --- Undo and the last record -----------------------------------------------------------

function showLastRecord(message) {
  const bar = root.querySelector("[data-last-record]");
  const last = state.last;
  const undoable = last && last.status !== "annulled"
    && Date.now() - new Date(last.occurred_at).getTime() < UNDO_WINDOW_MS;
  bar.hidden = !message && !undoable;
  bar.querySelector("button").hidden = !undoable;
  bar.querySelector("[data-last-record-text]").textContent = message
    ?? (undoable ? t("confirm.last", { card: shortNumber(last.number), tickets: ticketsText(last) }) : "");
}

/**
 * Take back one's own record: sent ones are annulled, unsent ones leave the queue. `target`
 * may be a stale copy (say, still pending though a sync has sent it since): offline.js reads
 * the record afresh, after any sync under way.
 */
async function undo(target, onDone = showLastRecord) {
  if (!target) {
    return;
  }
  try {
    await offline.undoRecord(target);
    if (sameRecord(state.last, target)) {
      state.last = { ...state.last, status: "annulled" };
    }
    view.close();
    backToScanning();
    onDone(t("undo.done"));
  } catch (error) {
    view.close();
    backToScanning();
    onDone(errorText(error instanceof api.ApiError ? error.code : "unknown"));
  }
  net.updateBanner();
}

function sameRecord(record, target) {
  return Boolean(record) && ((target.nonce && target.nonce === record.nonce)
    || (target.visit_id != null && target.visit_id === record.visit_id));
}

// --- Today's list ------------------------------------------------------------------------

async function showToday() {
  show("today");
  focusHeading(sections.today);
  net.seenRefusals();
  const place = state.place;
  sections.today.querySelector("[data-today-place]").textContent = [place.venue.name,
    place.event ? setup.eventLabel(place.event) : ""].filter(Boolean).join(" · ");
  await drawToday();
}

async function drawToday(message = "") {
  const status = sections.today.querySelector("[data-today-status]");
  const list = sections.today.querySelector("[data-visits]");
  let result;
  try {
    result = await todaysVisits(state.place, net.offline);
  } catch (error) {
    if (!error.unreachable) {
      status.textContent = errorText(error.code);
      return;
    }
    net.setOffline(true);
    result = await todaysVisits(state.place, true);
  }
  drawVisits(list, result.visits, (visit) => undo({
    visit_id: visit.id, nonce: visit.nonce, pending: visit.pending,
  }, (text) => drawToday(text)));
  const notes = [message, result.complete ? "" : t("today.offline"), result.visits.length ? "" : t("today.empty")];
  status.textContent = notes.filter(Boolean).join(" ");
}
