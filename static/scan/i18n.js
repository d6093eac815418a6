// The scanner's texts: one JSON catalogue, in the language of the page (the staff member's).
let texts = {};
let language = "fi";
let plurals = new Intl.PluralRules("fi");

/** Load the catalogue for the page's `<html lang>`; Finnish when the language is missing. */
export async function loadTexts(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  const catalogue = await response.json();
  language = catalogue[document.documentElement.lang] ? document.documentElement.lang : "fi";
  texts = catalogue[language];
  plurals = new Intl.PluralRules(language);
}

export function lang() {
  return language;
}

/** The text for `key` with `{name}` placeholders filled in. */
export function t(key, values = {}) {
  const text = texts[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

/** A text that depends on a count: `key.one` or `key.other`, as the language needs. */
export function tn(key, count, values = {}) {
  const form = `${key}.${plurals.select(count)}`;
  return t(form in texts ? form : `${key}.other`, { count, ...values });
}

/** Whether the catalogue has a text for `key`. */
export function has(key) {
  return key in texts;
}

/** What an API error code (or "network") says to the staff; a general text for others. */
export function errorText(code) {
  return t(has(`error.${code}`) ? `error.${code}` : "error.unknown");
}

/** Why the server refused a record: a verdict's reason, or what was wrong with the record. */
export function refusalText(code) {
  return has(`reason.${code}`) ? t(`reason.${code}`) : errorText(code);
}

/** Fill in every `data-i18n` (text) and `data-i18n-label` (aria-label) under `root`. */
export function translate(root) {
  for (const element of root.querySelectorAll("[data-i18n]")) {
    element.textContent = t(element.dataset.i18n);
  }
  for (const element of root.querySelectorAll("[data-i18n-label]")) {
    element.setAttribute("aria-label", t(element.dataset.i18nLabel));
  }
}

// Dates and times are written as in Finland in every language (sv-FI "2.12.2026", "18.05"),
// like the server's pages (app/i18n.py).
const FINLAND = () => `${language}-FI`;

/** A time of day, HH.MM in Finnish, in Finland's time zone. */
export function timeOfDay(iso) {
  return new Intl.DateTimeFormat(FINLAND(), {
    hour: "2-digit", minute: "2-digit", timeZone: "Europe/Helsinki",
  }).format(new Date(iso));
}

/** A calendar date (YYYY-MM-DD) written the language's way. */
export function dateText(isoDate) {
  const [year, month, day] = isoDate.split("-").map(Number);
  return new Intl.DateTimeFormat(FINLAND(), { dateStyle: "short", timeZone: "UTC" })
    .format(new Date(Date.UTC(year, month - 1, day)));
}
