// Registers the digital card's service worker and says so when the card is shown offline.
const card = document.querySelector("[data-service-worker]");

if (card && "serviceWorker" in navigator) {
  navigator.serviceWorker.register(card.dataset.serviceWorker).catch((error) => {
    // The card still works online; only offline use and installing are lost.
    console.warn("digital card: service worker not registered", error);
  });
}

const offlineNote = document.querySelector("[data-offline-note]");

function showConnection() {
  if (offlineNote) {
    offlineNote.hidden = navigator.onLine;
  }
}

window.addEventListener("online", showConnection);
window.addEventListener("offline", showConnection);
showConnection();
