/* Live job progress on staff pages.
 *
 * Every element with data-kk-job="<id>" shows one job: its progress bar, step, status badge, log
 * lines and, once it ends, its result. Unfinished jobs are followed over the session-authenticated
 * websocket (/ws/v1/events/, one socket per tenant, `since` the last event the page shows); when
 * the socket cannot open or drops, the page polls the job's status address instead
 * (data-kk-status-url) until the job ends. Nothing here needs a reload.
 */
(function () {
  "use strict";
  const FINISHED = new Set(["succeeded", "failed", "cancelled"]);
  const POLL_MS = 1000;
  const OPEN_TIMEOUT_MS = 4000;

  function socketUrl(tenant) {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    return `${scheme}://${window.location.host}/ws/v1/events/?tenant=${encodeURIComponent(tenant)}`;
  }

  class JobView {
    constructor(element) {
      this.el = element;
      this.id = element.dataset.kkJob;
      this.tenant = element.dataset.kkTenant;
      this.statusUrl = element.dataset.kkStatusUrl;
      this.seq = parseInt(element.dataset.kkSeq || "0", 10);
      this.status = element.dataset.kkStatus;
      this.polling = null;
      this.finishing = false;
    }
    part(name) { return this.el.querySelector(`[data-kk-${name}]`); }
    get finished() { return FINISHED.has(this.status); }
    setState(text) { const s = this.part("live-state"); if (s) s.textContent = text; }
    setProgress(progress, step) {
      const bar = this.part("progress");
      if (bar && progress !== undefined && progress !== null) bar.value = progress;
      const percent = this.part("percent");
      if (percent && progress !== undefined && progress !== null) percent.textContent = `${progress}%`;
      const stepEl = this.part("step");
      if (stepEl && step) stepEl.textContent = step;
    }
    setStatus(status) {
      this.status = status;
      this.el.dataset.kkStatus = status;
      const badge = this.part("status-badge");
      if (badge) {
        badge.textContent = status;
        badge.dataset.status = status;
        const tones = { queued: "neutral", running: "info", succeeded: "good", failed: "bad", cancelled: "muted" };
        badge.className = `kk-badge kk-${tones[status] || "neutral"}`;
      }
    }
    log(message) {
      const list = this.part("log");
      if (!list || !message) return;
      const item = document.createElement("li");
      item.textContent = message;
      list.appendChild(item);
      list.scrollTop = list.scrollHeight;
    }
    apply(event) {
      if (event.seq !== null && event.seq !== undefined) {
        if (event.seq <= this.seq) return;
        this.seq = event.seq;
        this.el.dataset.kkSeq = String(event.seq);
      }
      const data = event.data || {};
      if (event.type === "job.progress") {
        if (this.status === "queued") this.setStatus("running");
        this.setProgress(data.progress, data.step);
      } else if (event.type === "job.log") {
        this.log(data.message);
      } else if (event.type === "job.started" || event.type === "job.retrying") {
        this.setStatus(event.type === "job.started" ? "running" : "queued");
        if (data.message) this.log(data.message);
      } else if (event.type && event.type.startsWith("job.") && FINISHED.has(data.status)) {
        this.setStatus(data.status);
        if (data.status === "succeeded") this.setProgress(100, null);
        this.finish();
      }
    }
    finish() {
      if (this.finishing) return;
      this.finishing = true;
      this.stopPolling();
      this.setState("finished");
      // The result, rendered by the server (tables, download links), without a reload.
      this.fetchStatus().then((answer) => this.render(answer)).catch(() => {});
    }
    render(answer) {
      if (!answer) return;
      this.setProgress(answer.progress, answer.step);
      if (answer.status) this.setStatus(answer.status);
      const result = this.part("result");
      if (result && answer.result_html !== undefined) result.innerHTML = answer.result_html;
      this.el.dispatchEvent(new CustomEvent("kk:job-finished", { bubbles: true, detail: answer }));
    }
    fetchStatus() {
      if (!this.statusUrl) return Promise.resolve(null);
      const url = `${this.statusUrl}?since=${this.seq}`;
      return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((response) => (response.ok ? response.json() : null));
    }
    startPolling() {
      if (this.polling || this.finished || !this.statusUrl) return;
      this.setState("polling");
      const tick = () => {
        this.fetchStatus().then((answer) => {
          if (!answer) return;
          for (const event of answer.events || []) this.apply(event);
          this.setProgress(answer.progress, answer.step);
          if (answer.status && answer.status !== this.status) this.setStatus(answer.status);
          if (answer.finished) this.finish();
        }).catch(() => {});
      };
      tick();
      this.polling = window.setInterval(tick, POLL_MS);
    }
    stopPolling() {
      if (this.polling) window.clearInterval(this.polling);
      this.polling = null;
    }
  }

  function follow(tenant, views) {
    let socket;
    try {
      socket = new WebSocket(socketUrl(tenant));
    } catch (error) {
      views.forEach((view) => view.startPolling());
      return;
    }
    const byTopic = new Map(views.map((view) => [`job:${view.id}`, view]));
    const fallBack = () => byTopic.forEach((view) => { if (!view.finished) view.startPolling(); });
    const timer = window.setTimeout(() => { if (socket.readyState !== WebSocket.OPEN) { fallBack(); } }, OPEN_TIMEOUT_MS);
    socket.addEventListener("open", () => {
      window.clearTimeout(timer);
      byTopic.forEach((view, topic) => {
        view.setState("live");
        socket.send(JSON.stringify({ action: "subscribe", topic, since: view.seq }));
      });
    });
    socket.addEventListener("message", (message) => {
      let event;
      try { event = JSON.parse(message.data); } catch (error) { return; }
      const view = byTopic.get(event.topic);
      if (event.type === "error") {
        if (view) view.startPolling(); else fallBack();
        return;
      }
      if (view) view.apply(event);
    });
    socket.addEventListener("close", () => { window.clearTimeout(timer); fallBack(); });
    socket.addEventListener("error", () => { fallBack(); });
    window.kalkulaSockets = (window.kalkulaSockets || []).concat([socket]);
  }

  function start() {
    const views = Array.from(document.querySelectorAll("[data-kk-job]")).map((el) => new JobView(el));
    window.kalkulaJobs = views;
    const open = views.filter((view) => !view.finished);
    const byTenant = new Map();
    for (const view of open) {
      if (!view.tenant || window.KALKULA_FORCE_POLLING) { view.startPolling(); continue; }
      if (!byTenant.has(view.tenant)) byTenant.set(view.tenant, []);
      byTenant.get(view.tenant).push(view);
    }
    byTenant.forEach((list, tenant) => follow(tenant, list));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
