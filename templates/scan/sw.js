// The scanner's service worker (scope {{ scope }}): the app shell opens without a network.
// Scripts, styles, texts and the decoder come from the cache (a new shell means a new worker,
// since the version below is a fingerprint of them). The page itself is network first: it
// carries the session's CSRF token and sends a logged-out device to the login page.
const CACHE = "kaiku-scan-{{ version }}";
const CACHE_PREFIX = "kaiku-scan-";
const ASSETS = {{ assets | tojson }};
const PAGES = [{{ page | tojson }}, {{ manifest | tojson }}];
// Bad reception at the door: past this, open the kept page rather than wait.
const NETWORK_TIMEOUT_MS = 3000;

self.addEventListener("install", (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(dropOldCaches().then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) {
    return;
  }
  if (PAGES.includes(url.pathname)) {
    event.respondWith(networkFirst(request, url.origin + url.pathname));
  } else if (ASSETS.includes(url.pathname)) {
    event.respondWith(cacheFirst(request, url.origin + url.pathname));
  }
});

async function precache() {
  const cache = await caches.open(CACHE);
  await cache.addAll(ASSETS);
  await Promise.all(PAGES.map((path) => refresh(cache, path)));
}

async function refresh(cache, path) {
  try {
    const response = await fetch(path, { credentials: "same-origin" });
    if (keepable(response)) {
      await cache.put(new URL(path, self.location.origin).href, response);
    }
  } catch {
    // Offline while installing: the next visit with a network keeps the page.
  }
}

function keepable(response) {
  // Never keep the login page that a logged-out request is redirected to in place of the app.
  return response.ok && response.type === "basic" && !response.redirected;
}

async function dropOldCaches() {
  const names = await caches.keys();
  await Promise.all(names.filter((name) => name.startsWith(CACHE_PREFIX) && name !== CACHE)
    .map((name) => caches.delete(name)));
}

async function cacheFirst(request, key) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(key);
  if (cached) {
    return cached;
  }
  const response = await fetch(request);
  if (keepable(response)) {
    await cache.put(key, response.clone());
  }
  return response;
}

async function networkFirst(request, key) {
  const cache = await caches.open(CACHE);
  const network = fetch(request).then(async (response) => {
    if (keepable(response)) {
      await cache.put(key, response.clone());
    }
    return response;
  });
  const cached = await cache.match(key);
  if (!cached) {
    return network;
  }
  const late = new Promise((resolve) => setTimeout(() => resolve(cached), NETWORK_TIMEOUT_MS));
  return Promise.race([network.catch(() => cached), late]);
}
