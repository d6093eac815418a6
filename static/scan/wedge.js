// USB and Bluetooth barcode scanners act as keyboards ("keyboard wedge"): they type the code
// much faster than a person can and end it with Enter. Outside text fields, such a burst is
// a scanned code wherever the focus is; a person's slow typing is left alone.
const MAX_GAP_MS = 80; // between keys typed into a field by a scanner
const MAX_AVERAGE_GAP_MS = 60; // a scanner's burst on the page: people type 100-300 ms a key
const MAX_PAUSE_MS = 1000;
const MIN_LENGTH = 8;

function isTextField(element) {
  if (!(element instanceof HTMLElement)) {
    return false;
  }
  if (element.isContentEditable || element instanceof HTMLTextAreaElement || element instanceof HTMLSelectElement) {
    return true;
  }
  return element instanceof HTMLInputElement
    && !["button", "checkbox", "radio", "submit", "reset", "range", "color", "file", "image"].includes(element.type);
}

/**
 * Call `onCode(text)` for every fast burst of keys that ends in Enter, outside text fields.
 * A burst is judged by its average pace, not by every single gap: Bluetooth scanners (and a
 * busy phone) deliver keys in uneven clumps, while a person types several times slower.
 */
export function listenForWedge(target, onCode, isActive) {
  let buffer = "";
  let first = 0;
  let last = 0;
  target.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.altKey || event.metaKey || isTextField(event.target) || !isActive()) {
      buffer = "";
      return;
    }
    if (event.timeStamp - last > MAX_PAUSE_MS) {
      buffer = ""; // a pause this long ends any burst
    }
    if (event.key === "Enter") {
      const pace = (event.timeStamp - first) / Math.max(buffer.length, 1);
      if (buffer.length >= MIN_LENGTH && pace <= MAX_AVERAGE_GAP_MS) {
        // Enter would otherwise press the focused button, say "Record".
        event.preventDefault();
        event.stopPropagation();
        onCode(buffer);
      }
      buffer = "";
      return;
    }
    if (event.key.length !== 1) {
      return; // Shift and other modifiers arrive between the characters
    }
    if (!buffer) {
      first = event.timeStamp;
    }
    last = event.timeStamp;
    buffer += event.key;
    if (buffer.length > 1 || event.key === " ") {
      // A space (a Base45 symbol) would press a focused button or scroll the page.
      event.preventDefault();
    }
  }, true);
}

/**
 * Whether what was typed into a text field came from a scanner: every key of it a burst.
 * Answers a function that tells, for the field's current value, "barcode" or "manual".
 */
export function watchTyping(input) {
  let gaps = [];
  let last = 0;
  input.addEventListener("keydown", (event) => {
    if (event.key.length === 1) {
      gaps.push(event.timeStamp - last);
      last = event.timeStamp;
    }
  });
  input.addEventListener("input", (event) => {
    if (event.inputType !== "insertText") {
      gaps = []; // pasted, deleted or autocompleted: a person is at work
    }
  });
  return () => {
    const burst = gaps.length >= MIN_LENGTH && gaps.slice(1).every((gap) => gap <= MAX_GAP_MS);
    gaps = [];
    return burst ? "barcode" : "manual";
  };
}
