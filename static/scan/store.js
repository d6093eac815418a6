// What the device keeps: records waiting to be sent, its own records of today and the offline
// bundle in IndexedDB (they must survive a reload); the chosen place in localStorage.
const DB_NAME = "kaiku-scan";
const DB_VERSION = 1;
const PLACE_KEY = "kaiku-scan:place";
const VENUES_KEY = "kaiku-scan:venues";

let opened = null;

function database() {
  opened ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      // queue: redeem bodies not yet answered by the server, by nonce.
      db.createObjectStore("queue", { keyPath: "nonce" });
      // records: this device's records (sent or not), the history for offline decisions.
      db.createObjectStore("records", { keyPath: "nonce" });
      // bundles: the latest offline bundle of each venue.
      db.createObjectStore("bundles", { keyPath: "venue_id" });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opened;
}

async function run(storeName, mode, action) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(storeName, mode);
    const request = action(transaction.objectStore(storeName));
    transaction.oncomplete = () => resolve(request?.result);
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error);
  });
}

export const put = (storeName, value) => run(storeName, "readwrite", (store) => store.put(value));
export const get = (storeName, key) => run(storeName, "readonly", (store) => store.get(key));
export const all = (storeName) => run(storeName, "readonly", (store) => store.getAll());
export const remove = (storeName, key) => run(storeName, "readwrite", (store) => store.delete(key));

/** Ask the browser not to evict the queue under storage pressure. */
export function keepStorage() {
  navigator.storage?.persist?.().catch(() => {});
}

/** Drop this device's records from earlier days; the queue is never pruned. */
export async function pruneRecords(today) {
  for (const record of await all("records")) {
    if (record.day !== today) {
      await remove("records", record.nonce);
    }
  }
}

function readJson(key) {
  try {
    return JSON.parse(localStorage.getItem(key));
  } catch {
    return null;
  }
}

export const loadPlace = () => readJson(PLACE_KEY);
export const savePlace = (place) => localStorage.setItem(PLACE_KEY, JSON.stringify(place));
export const loadVenues = () => readJson(VENUES_KEY);
export const saveVenues = (venues) => localStorage.setItem(VENUES_KEY, JSON.stringify(venues));
