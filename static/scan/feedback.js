// Sound and vibration, so the seller with a queue need not look at the screen to know.
let audio = null;

function tone(frequency, start, length) {
  const oscillator = audio.createOscillator();
  const gain = audio.createGain();
  oscillator.type = "sine";
  oscillator.frequency.value = frequency;
  gain.gain.setValueAtTime(0.25, start);
  gain.gain.exponentialRampToValueAtTime(0.001, start + length);
  oscillator.connect(gain).connect(audio.destination);
  oscillator.start(start);
  oscillator.stop(start + length);
}

function play(notes) {
  try {
    audio ??= new AudioContext();
    audio.resume?.();
    const now = audio.currentTime;
    notes.forEach(([frequency, offset, length]) => tone(frequency, now + offset, length));
  } catch {
    // No audio output: the screen still says it.
  }
}

/** A recorded visit: a short high double beep and a short buzz. */
export function recorded() {
  play([[880, 0, 0.09], [1320, 0.1, 0.12]]);
  navigator.vibrate?.(80);
}

/** A refused card: a low tone and a longer buzz. */
export function refused() {
  play([[220, 0, 0.25]]);
  navigator.vibrate?.([200, 100, 200]);
}
