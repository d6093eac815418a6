// The scanner's JSON API (DESIGN §7): same-origin session cookie, CSRF token in a header.
const TIMEOUT_MS = 8000;
// Statuses that mean "the server is not there", not "the server said no".
const UNREACHABLE = new Set([0, 502, 503, 504]);

export class ApiError extends Error {
  constructor(code, status, message = code) {
    super(message);
    this.code = code;
    this.status = status;
  }

  /** Whether the answer should make the scanner decide on its own, offline. */
  get unreachable() {
    return this.code === "network" || UNREACHABLE.has(this.status);
  }
}

let base = "/api/scan";
let pagePath = "/scan";

export function configure(apiBase, page) {
  base = apiBase;
  pagePath = page;
}

function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content ?? "";
}

/** Call the API; answers the JSON body or throws ApiError (code "network" when unreachable). */
export async function call(path, { method = "GET", body, timeout = TIMEOUT_MS } = {}) {
  try {
    return await send(path, method, body, timeout);
  } catch (error) {
    // A token from a page kept offline may belong to an old session: fetch a fresh one once.
    if (error.code === "csrf_failed" && (await refreshToken())) {
      return send(path, method, body, timeout);
    }
    throw error;
  }
}

async function send(path, method, body, timeout) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeout);
  let response;
  try {
    response = await fetch(base + path, {
      method,
      credentials: "same-origin",
      headers: { Accept: "application/json",
        ...(body === undefined ? {} : { "Content-Type": "application/json", "X-CSRFToken": csrfToken() }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
    });
  } catch {
    throw new ApiError("network", 0);
  } finally {
    clearTimeout(timer);
  }
  return answer(response);
}

async function answer(response) {
  let data = null;
  try {
    data = await response.json();
  } catch {
    // Not JSON: a proxy's error page, or the login page after a redirect.
  }
  if (response.ok && data !== null && !response.redirected) {
    return data;
  }
  if (data?.error?.code) {
    throw new ApiError(data.error.code, response.status, data.error.message);
  }
  if (response.redirected || response.status === 401) {
    throw new ApiError("login_required", 401);
  }
  throw new ApiError(UNREACHABLE.has(response.status) ? "network" : "server_error", response.status);
}

async function refreshToken() {
  try {
    const response = await fetch(pagePath, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok || response.redirected) {
      return false;
    }
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const token = page.querySelector('meta[name="csrf-token"]')?.content;
    if (!token) {
      return false;
    }
    document.querySelector('meta[name="csrf-token"]').content = token;
    return true;
  } catch {
    return false;
  }
}

export const venues = () => call("/venues");
export const check = (body) => call("/check", { method: "POST", body });
export const redeem = (body) => call("/redeem", { method: "POST", body });
export const annul = (visitId) => call("/annul", { method: "POST", body: { visit_id: visitId, reason: "mistake" } });
export const sync = (visits) => call("/sync", { method: "POST", body: { visits }, timeout: 20000 });

export function today(venueId, eventId) {
  const query = new URLSearchParams({ venue_id: venueId });
  if (eventId != null) {
    query.set("event_id", eventId);
  }
  return call(`/today?${query}`);
}

export const offlineBundle = (venueId) => call(`/offline-bundle?venue_id=${encodeURIComponent(venueId)}`);
