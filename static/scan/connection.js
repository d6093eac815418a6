// The network comes and goes: the offline flag, the bundle kept fresh, the queue sent when
// the server can be reached, and the banner that says how things stand.
import { errorText, refusalText, t, tn } from "./i18n.js";
import * as offline from "./offline.js";

const BUNDLE_MAX_AGE_MS = 10 * 60 * 1000;

export class Connection {
  constructor(banner, loginLink) {
    this.banner = banner;
    this.loginLink = loginLink;
    this.offline = !navigator.onLine;
    this.venueId = null;
    this.syncing = false;
    this.loginNeeded = false;
    this.refused = 0;
    this.refusedReason = null; // the code of the latest record the server refused for good
    this.failed = [];
    window.addEventListener("online", () => this.setOffline(false));
    window.addEventListener("offline", () => this.setOffline(true));
  }

  /** Scan for this venue now: fetch its bundle at once, and keep it fresh. */
  follow(venueId) {
    this.venueId = venueId;
    this.refreshBundle(true);
    this.updateBanner();
  }

  /** Whether the server can be reached; becoming reachable sends what waits. */
  setOffline(flag) {
    if (this.offline === flag) {
      return;
    }
    this.offline = flag;
    this.updateBanner();
    if (!flag) {
      this.sync();
      this.refreshBundle(false);
    }
  }

  /** Now and then: send the queue, and refresh the bundle (offline, that is the probe). */
  tick() {
    this.sync();
    this.refreshBundle(this.offline);
  }

  async refreshBundle(force) {
    if (this.venueId === null) {
      return;
    }
    const venueId = this.venueId;
    if (!force && (await offline.bundleAge(venueId)) < BUNDLE_MAX_AGE_MS) {
      return;
    }
    try {
      await offline.refreshBundle(venueId);
      this.setOffline(false);
    } catch (error) {
      if (error.unreachable) {
        this.setOffline(true);
      }
    }
  }

  async sync() {
    if (this.syncing || !navigator.onLine || !(await offline.waiting())) {
      return;
    }
    this.syncing = true;
    try {
      const summary = await offline.syncQueue();
      this.loginNeeded = false;
      this.refused += summary.refused.length;
      if (summary.refused.length) {
        this.refusedReason = offline.resultReason(summary.refused.at(-1));
      }
      this.failed = summary.failed;
      this.setOffline(false);
    } catch (error) {
      if (error.unreachable) {
        this.setOffline(true);
      } else if (error.code === "login_required") {
        this.loginNeeded = true;
      }
    } finally {
      this.syncing = false;
      this.updateBanner();
    }
  }

  /** The staff have seen today's list, where refused records are shown. */
  seenRefusals() {
    this.refused = 0;
    this.updateBanner();
  }

  async updateBanner() {
    const count = await offline.waiting().catch(() => 0);
    const texts = [];
    if (this.offline) {
      texts.push(t("banner.offline"));
    }
    if (count) {
      texts.push(tn("banner.waiting", count));
    }
    if (this.refused) {
      texts.push(tn("banner.refused", this.refused, { reason: refusalText(this.refusedReason) }));
    }
    if (this.failed.length) {
      const reason = errorText(this.failed[0].error?.code);
      texts.push(tn("banner.failed", this.failed.length, { reason }));
    }
    const login = this.loginNeeded && count > 0;
    if (login) {
      texts.push(t("banner.login"));
    }
    this.show(texts, login);
  }

  show(texts, login) {
    // A live region: change it only when its words change, or screen readers repeat them.
    if (this.banner.textContent === [...texts, login ? t("banner.login_link") : ""].join(" ").trim()) {
      return;
    }
    this.banner.replaceChildren();
    if (texts.length) {
      this.banner.append(texts.join(" "));
    }
    if (login) {
      this.banner.append(" ", this.loginLink());
    }
    this.banner.classList.toggle("is-offline", this.offline);
  }
}
