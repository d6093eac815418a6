// The live sign: the time in Finland, ticking every second, so that the seller can tell the
// card from a screenshot of it. With reduced motion the CSS animation stops; the clock ticks on.
const clock = document.querySelector("[data-live-clock]");
const parts = new Intl.DateTimeFormat("fi-FI", {
  timeZone: "Europe/Helsinki", hourCycle: "h23", hour: "2-digit", minute: "2-digit", second: "2-digit",
});

function tick() {
  const now = new Date();
  const time = Object.fromEntries(parts.formatToParts(now).map((part) => [part.type, part.value]));
  clock.textContent = `${time.hour}.${time.minute}.${time.second}`;
  clock.dateTime = `${time.hour}:${time.minute}:${time.second}`;
  // Wake just after the next whole second, so the display never lags a second behind.
  setTimeout(tick, 1010 - now.getMilliseconds());
}

if (clock) {
  tick();
}
