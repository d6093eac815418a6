// The camera: rear camera, torch, switching, and a loop that hands each new code to `onCode`.
// The decoder (zxing-wasm, QR and Code 39) is loaded on first use and reads its .wasm from
// our own server, never from a CDN, so it also works offline from the service worker cache.
const FRAME_INTERVAL_MS = 60;
// A card held in front of the camera is read again and again: one verdict per showing.
const SAME_CODE_QUIET_MS = 2500;
const MAX_FRAME_WIDTH = 1280;
const READER_OPTIONS = { formats: ["QRCode", "Code39"], maxNumberOfSymbols: 1, tryHarder: true };

let decoderModule = null;

function loadDecoder(wasmUrl) {
  decoderModule ??= import("../vendor/zxing-wasm/es/reader/index.js").then(async (zxing) => {
    // Compile the .wasm now, not on the first frame with a card in it.
    await zxing.prepareZXingModule({
      overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? wasmUrl : prefix + path) },
      fireImmediately: true,
    });
    return zxing;
  }).catch((error) => {
    decoderModule = null;
    throw error;
  });
  return decoderModule;
}

export class Camera {
  constructor({ video, wasmUrl, onCode, onState }) {
    this.video = video;
    this.wasmUrl = wasmUrl;
    this.onCode = onCode;
    this.onState = onState;
    this.stream = null;
    this.starting = null;
    this.wanted = false;
    this.paused = false;
    this.torchOn = false;
    this.devices = [];
    this.deviceId = null;
    this.last = { text: null, seen: 0 };
    this.canvas = document.createElement("canvas");
    this.context = this.canvas.getContext("2d", { willReadFrequently: true });
  }

  get running() {
    return this.stream !== null;
  }

  /** Open the camera and start reading; a second call while it opens waits for the first. */
  start() {
    this.starting ??= this.open().finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  async open() {
    if (this.running) {
      return;
    }
    if (!navigator.mediaDevices?.getUserMedia) {
      this.onState({ state: "missing" });
      return;
    }
    this.wanted = true;
    this.onState({ state: "starting" });
    try {
      const decoder = loadDecoder(this.wasmUrl);
      const stream = await navigator.mediaDevices.getUserMedia({ video: this.constraints(), audio: false });
      if (!this.wanted) {
        stream.getTracks().forEach((track) => track.stop()); // left the scan screen meanwhile
        return;
      }
      this.stream = stream;
      this.video.srcObject = this.stream;
      await this.video.play();
      this.zxing = await decoder;
    } catch (error) {
      this.stop();
      this.onState({ state: error?.name === "NotAllowedError" ? "denied" : "missing" });
      return;
    }
    await this.findDevices();
    this.onState({ state: "running", torch: this.hasTorch(), canSwitch: this.devices.length > 1 });
    this.loop();
  }

  constraints() {
    const size = { width: { ideal: 1280 }, height: { ideal: 720 } };
    return this.deviceId ? { deviceId: { exact: this.deviceId }, ...size }
      : { facingMode: { ideal: "environment" }, ...size };
  }

  async findDevices() {
    try {
      const all = await navigator.mediaDevices.enumerateDevices();
      this.devices = all.filter((device) => device.kind === "videoinput");
    } catch {
      this.devices = [];
    }
    this.deviceId = this.track()?.getSettings?.().deviceId ?? this.deviceId;
  }

  stop() {
    this.wanted = false;
    this.stream?.getTracks().forEach((track) => track.stop());
    this.stream = null;
    this.torchOn = false;
    this.video.srcObject = null;
  }

  /** Stop reading while a verdict is on screen; the stream stays open for a quick return. */
  pause() {
    this.paused = true;
  }

  resume() {
    // The card just handled is often still in view: it stays quiet until it has been away.
    this.last.seen = performance.now();
    this.paused = false;
  }

  track() {
    return this.stream?.getVideoTracks()[0] ?? null;
  }

  hasTorch() {
    return Boolean(this.track()?.getCapabilities?.().torch);
  }

  async toggleTorch() {
    const wanted = !this.torchOn;
    try {
      await this.track().applyConstraints({ advanced: [{ torch: wanted }] });
      this.torchOn = wanted;
    } catch {
      // Some cameras claim a torch they cannot switch; the button then just does nothing.
    }
    return this.torchOn;
  }

  async switchCamera() {
    if (this.devices.length < 2) {
      return;
    }
    const index = this.devices.findIndex((device) => device.deviceId === this.deviceId);
    this.deviceId = this.devices[(index + 1) % this.devices.length].deviceId;
    this.stop();
    await this.start();
  }

  loop() {
    const stream = this.stream;
    const tick = async () => {
      if (this.stream !== stream) {
        return; // stopped or restarted: this loop ends
      }
      if (!this.paused && this.video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) {
        const text = await this.readFrame();
        if (text !== null && this.isNew(text) && !this.paused) {
          this.onCode(text);
        }
      }
      setTimeout(() => requestAnimationFrame(tick), FRAME_INTERVAL_MS);
    };
    requestAnimationFrame(tick);
  }

  async readFrame() {
    const { videoWidth: width, videoHeight: height } = this.video;
    if (!width || !height) {
      return null;
    }
    const scale = Math.min(1, MAX_FRAME_WIDTH / width);
    const [w, h] = [Math.round(width * scale), Math.round(height * scale)];
    // Assigning a canvas size, even the same one, clears and reallocates it: only on change.
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    this.context.drawImage(this.video, 0, 0, this.canvas.width, this.canvas.height);
    const frame = this.context.getImageData(0, 0, this.canvas.width, this.canvas.height);
    try {
      const [found] = await this.zxing.readBarcodes(frame, READER_OPTIONS);
      return found?.isValid ? found.text : null;
    } catch {
      return null;
    }
  }

  isNew(text) {
    const now = performance.now();
    const repeat = text === this.last.text && now - this.last.seen < SAME_CODE_QUIET_MS;
    this.last = { text, seen: now };
    return !repeat;
  }
}
