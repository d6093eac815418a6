// The camera: rear camera, torch, switching, and a loop that hands each new code to `onCode`.
// The decoder (zxing-wasm, QR and Code 39) is loaded on first use and reads its .wasm from
// our own server, never from a CDN, so it also works offline from the service worker cache.
//
// Each camera frame is read as soon as it arrives (requestVideoFrameCallback), not on a timer:
// a frame that comes while the last one is still being read is skipped, so a slow phone reads
// fewer frames rather than falling behind. A frame is searched for a QR code first. When none is
// found, one second pass follows, in turn: the QR search on the frame at twice the size (a far or
// small code whose modules are under about 2.3 px is read only so), or the Code 39 search (a
// card's barcode; searched on every other frame so it does not halve the QR rate).
// Measured with photo-like footage in bench/camera_read.py; the choices are in bench/README.md.
// A card held in front of the camera is read again and again: one verdict per showing.
const SAME_CODE_QUIET_MS = 2500;
const MAX_FRAME_WIDTH = 1280;
// The enlarged pass: twice the first pass's scale, cut to at most this around the centre.
const ENLARGED_MAX = { width: 1280, height: 960 };
const QR_OPTIONS = { formats: ["QRCode"], maxNumberOfSymbols: 1, tryHarder: true };
const BARCODE_OPTIONS = { formats: ["Code39"], maxNumberOfSymbols: 1, tryHarder: true };

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
    this.enlarged = document.createElement("canvas");
    this.enlargedContext = this.enlarged.getContext("2d", { willReadFrequently: true });
    this.frameCount = 0;
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
    // More pixels a module help a small code: the enlarged pass uses them where the camera has them.
    const size = { width: { ideal: 1920 }, height: { ideal: 1080 } };
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
    const video = this.video;
    const everyFrame = "requestVideoFrameCallback" in video;
    const next = () => (everyFrame ? video.requestVideoFrameCallback(tick) : requestAnimationFrame(tick));
    const tick = async () => {
      if (this.stream !== stream) {
        return; // stopped or restarted: this loop ends
      }
      if (!this.paused && video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) {
        const text = await this.readFrame();
        if (text !== null && this.isNew(text) && !this.paused) {
          this.onCode(text);
        }
      }
      next(); // the next frame that arrives after this one has been read
    };
    next();
  }

  /** The text of the code in the current video frame, or null. */
  async readFrame() {
    const { videoWidth: width, videoHeight: height } = this.video;
    if (!width || !height) {
      return null;
    }
    const scale = Math.min(1, MAX_FRAME_WIDTH / width);
    const frame = this.grab(this.canvas, this.context, width, height, scale, null);
    this.frameCount += 1;
    const text = await this.decode(frame, QR_OPTIONS);
    if (text !== null) {
      return text;
    }
    if (this.frameCount % 2 === 0) {
      return this.decode(frame, BARCODE_OPTIONS);
    }
    const enlarged = this.grab(this.enlarged, this.enlargedContext, width, height, 2 * scale, ENLARGED_MAX);
    return this.decode(enlarged, QR_OPTIONS);
  }

  /** The video frame at `scale` as pixels; with a `limit`, only as much of it around the centre. */
  grab(canvas, context, width, height, scale, limit) {
    const w = Math.min(Math.round(width * scale), limit?.width ?? Infinity);
    const h = Math.min(Math.round(height * scale), limit?.height ?? Infinity);
    // Assigning a canvas size, even the same one, clears and reallocates it: only on change.
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    const [sw, sh] = [w / scale, h / scale];
    context.imageSmoothingQuality = "high";
    context.drawImage(this.video, (width - sw) / 2, (height - sh) / 2, sw, sh, 0, 0, w, h);
    return context.getImageData(0, 0, w, h);
  }

  async decode(frame, options) {
    try {
      const [found] = await this.zxing.readBarcodes(frame, options);
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
