// The digital card's service worker: a card opened once still opens without a network.
// Network first, so a renewed, replaced or deactivated card shows its news whenever the
// phone is online; the cache answers when the network is missing or too slow at the door.
const CACHE = "kaiku-holder-{{ version }}";
const CACHE_PREFIX = "kaiku-holder-";
const ASSETS = {{ assets | tojson }};
const SCOPE = new URL(self.registration.scope).pathname;
const WORKER = new URL(self.location.href).pathname;
// Bad reception at an entrance: past this, show the cached card rather than a spinner.
const NETWORK_TIMEOUT_MS = 4000;

self.addEventListener("install", (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(dropOldCaches().then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || !handles(new URL(request.url))) {
    return;
  }
  event.respondWith(networkFirst(request));
});

function handles(url) {
  if (url.origin !== self.location.origin) {
    return false;
  }
  return isCardUrl(url) || ASSETS.includes(url.pathname);
}

function isCardUrl(url) {
  return url.pathname.startsWith(SCOPE) && url.pathname !== WORKER;
}

async function precache() {
  const cache = await caches.open(CACHE);
  await cache.addAll(ASSETS);
  // The page that registered this worker loaded before the worker existed: fetch it again
  // now, so the very first visit is enough to open the card offline.
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const pages = windows.map((client) => new URL(client.url)).filter(isCardUrl);
  await Promise.all(pages.flatMap((page) => cardUrls(page)).map((url) => refresh(cache, url)));
}

function cardUrls(page) {
  const path = page.origin + page.pathname;
  return [path, path + "/manifest.webmanifest"];
}

async function refresh(cache, url) {
  try {
    const response = await fetch(url, { credentials: "same-origin" });
    if (response.ok) {
      await cache.put(url, response);
    }
  } catch {
    // Offline while installing: the next online visit caches the page.
  }
}

async function dropOldCaches() {
  const names = await caches.keys();
  await Promise.all(names.filter((name) => name.startsWith(CACHE_PREFIX) && name !== CACHE)
    .map((name) => caches.delete(name)));
}

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  const key = keyOf(request);
  const network = fromNetwork(cache, key, request);
  const cached = await cache.match(key);
  if (!cached) {
    return network;
  }
  const late = new Promise((resolve) => setTimeout(() => resolve(cached), NETWORK_TIMEOUT_MS));
  return Promise.race([network.catch(() => cached), late]);
}

async function fromNetwork(cache, key, request) {
  const response = await fetch(request);
  if (response.ok) {
    await cache.put(key, response.clone());
  } else if (response.status === 404 || response.status === 410) {
    // The issuer replaced the link, or the card is gone: the old link stops working here too.
    await cache.delete(key);
  }
  return response;
}

function keyOf(request) {
  // One entry per card page, whatever query string or language switch led to it.
  const url = new URL(request.url);
  return url.origin + url.pathname;
}
