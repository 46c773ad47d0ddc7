// The dashboard page: paints the skeleton at once, fills it as each call answers, and refreshes
// every 30 s in place. Rule kept: a failed refresh never wipes the numbers on screen; it shows
// the error and the Outdated tag beside the last good data.

import { call } from "./api.js";
import { t, translate, lang } from "./i18n.js";
import { applyTheme, effectiveTheme } from "./prefs.js";
import * as fmt from "./format.js";
import { h, swap, text, badge } from "./dom.js";

const REFRESH_MS = 30_000;
const CHARTS = ["overview", "trend", "models", "top-keys"];
/** A limit is shown once its use reaches this share of it; at most MAX_LIMITS rows. */
const NEAR_LIMIT = 0.8;
const MAX_LIMITS = 10;
const $ = (id) => document.getElementById(id);

let lastStatus = null;
let nextAt = Date.now() + REFRESH_MS;
const chartKey = {};

function kpi(id, value, sub = "", subClass = "") {
  const card = $(id);
  const v = card.querySelector(".value");
  v.classList.remove("skeleton");
  text(v, value);
  const s = card.querySelector(".sub");
  text(s, sub);
  s.className = "sub " + subClass;
}

function showError(msg) {
  const el = $("error");
  if (msg) {
    text(el, t("hdr.error", { msg }));
    el.hidden = false;
  } else el.hidden = true;
}

function renderStatus(st) {
  lastStatus = st;
  const health = st.health || "offline";
  const kind = health === "ok" ? "ok" : health === "stale" ? "stale" : "offline";
  swap($("health"), ...badge(kind, t("health." + health)).childNodes);
  $("health").className = `badge ${kind}`;
  text($("source"), `${(st.source && st.source.kind) || "?"}${st.source && st.source.url ? " @ " + fmt.maskUrl(st.source.url) : ""}`);
  text($("refreshed"), fmt.time(st.last_refresh));
  $("refreshed").dateTime = st.last_refresh || "";
  const out = $("outdated");
  out.hidden = !st.stale;
  if (st.last_refresh) out.title = t("hdr.outdated_tip", { age: fmt.ago((Date.now() - Date.parse(st.last_refresh)) / 1000) });
  showError(st.last_error);
  $("demo").hidden = !(st.source && st.source.kind === "demo");
}

/** Yesterday's figures from the trend, when the trend's last day is today. */
function yesterday(snap) {
  const tr = snap.trend || [];
  const i = tr.findIndex((d) => d.date === snap.today);
  if (i > 0) return tr[i - 1];
  return null;
}

function delta(now, before) {
  const c = fmt.change(now, before);
  if (c == null) return ["", ""];
  return [t("kpi.vs_yesterday", { d: fmt.signedPercent(c) }), "delta " + (c >= 0 ? "up" : "down")];
}

function renderSnapshot(snap) {
  const u = snap.usage_today || {};
  const y = yesterday(snap);
  kpi("kpi-requests", fmt.count(u.requests), ...delta(u.requests, y && y.requests));
  renderErrorsToday(u);
  kpi("kpi-tokens", fmt.tokens(u.all_tokens), ...delta(u.all_tokens, y && y.all_tokens));
  kpi("kpi-cost", fmt.cost(u.cost_usd), ...(y ? delta(u.cost_usd, y.cost_usd) : [t("kpi.total", { v: fmt.cost((snap.usage_total || {}).cost_usd) })]));
  const rt = snap.realtime || {};
  kpi("kpi-rpm", fmt.rate(rt.rpm), t("kpi.window", { n: rt.window_minutes ?? "–" }));
  kpi("kpi-tpm", fmt.rate(rt.tpm), t("kpi.window", { n: rt.window_minutes ?? "–" }));
  const k = snap.api_keys || {};
  kpi("kpi-keys", fmt.count(k.total), t("kpi.active_of", { a: fmt.count(k.active), t: fmt.count(k.total) }));
  const providers = snap.providers || [];
  // A relay with providers (Claude Code Hub) has no accounts: its providers take their place.
  $("providers-card").hidden = !providers.length;
  $("accounts-card").hidden = providers.length > 0;
  if (providers.length) renderProviders(providers);
  else renderAccounts(snap.accounts || {});
  renderTopUsers(snap.top_users || []);
  renderLimits(snap.limits || []);
}

/** Today's failed requests under the request count, where the relay records them (CCH). */
function renderErrorsToday(u) {
  const el = $("errors-today");
  el.hidden = u.errors == null;
  if (u.errors == null) return;
  const p = u.requests ? fmt.percent(u.errors / u.requests) : "–";
  text(el, t("kpi.errors_today", { n: fmt.count(u.errors), p }));
  el.classList.toggle("has-errors", u.errors > 0);
}

/** `HH:MM` for a time today (local clock), else `YYYY-MM-DD HH:MM`. */
function clock(iso) {
  const full = fmt.time(iso);
  return full.slice(0, 10) === fmt.time(new Date().toISOString()).slice(0, 10) ? full.slice(11) : full;
}

const BREAKER_BADGE = { closed: "ok", "half-open": "warn", open: "bad" };

function breakerCell(b = {}) {
  const state = b.state || "closed";
  const kind = BREAKER_BADGE[state] || "info";
  const word = kind === "info" ? state : t("pv." + state);
  const notes = [];
  if (state !== "closed" && b.failure_count) notes.push(t("pv.failures", { n: fmt.count(b.failure_count) }));
  if (state === "open" && b.open_until) notes.push(t("pv.until", { t: clock(b.open_until) }));
  return h("td", { dataset: { col: "breaker", state } },
    badge(kind, word), notes.length ? h("span", { class: "preview" }, " ", notes.join(" · ")) : null);
}

function renderProviders(providers) {
  swap(
    $("providers"),
    h("table", {},
      h("thead", {}, h("tr", {}, ["pv.name", "pv.type", "pv.enabled", "pv.breaker"].map((k) => h("th", {}, t(k))))),
      h("tbody", {}, providers.map((p) => h("tr", { dataset: { provider: p.id }, class: p.enabled ? null : "muted" },
        h("td", { dataset: { col: "name" } }, p.name),
        h("td", { class: "words", dataset: { col: "type" } }, p.type),
        h("td", { dataset: { col: "enabled" } }, t(p.enabled ? "pv.yes" : "pv.no")),
        breakerCell(p.breaker))))),
  );
}

function renderTopUsers(users) {
  $("top-users-card").hidden = !users.length;
  if (!users.length) return;
  swap(
    $("top-users"),
    h("table", {},
      h("thead", {}, h("tr", {}, h("th", { class: "num" }, t("us.rank")), h("th", {}, t("us.name")),
        ["us.requests", "us.tokens", "us.cost"].map((k) => h("th", { class: "num" }, t(k))))),
      h("tbody", {}, users.map((u, i) => h("tr", { dataset: { user: u.id } },
        h("td", { class: "num", dataset: { col: "rank" } }, i + 1),
        h("td", { dataset: { col: "name" } }, u.name),
        h("td", { class: "num", dataset: { col: "requests" } }, fmt.count(u.requests)),
        h("td", { class: "num", dataset: { col: "tokens" } }, fmt.tokens(u.all_tokens)),
        h("td", { class: "num", dataset: { col: "cost" } }, fmt.cost(u.cost_usd)))))),
  );
}

/** The limits at or over NEAR_LIMIT of their amount, fullest first (at most MAX_LIMITS). */
function nearLimits(limits) {
  return limits
    .filter((l) => l.limit_usd > 0 && l.used_usd / l.limit_usd >= NEAR_LIMIT)
    .map((l) => ({ ...l, ratio: l.used_usd / l.limit_usd }))
    .sort((a, b) => b.ratio - a.ratio || String(a.name).localeCompare(String(b.name)));
}

function limitRow(l) {
  const kind = l.ratio >= 1 ? "bad" : "warn";
  const width = Math.min(100, l.ratio * 100).toFixed(1);
  return h("tr", { dataset: { limit: `${l.scope}:${l.id}:${l.period}` } },
    h("td", { dataset: { col: "scope" } }, t("lim.scope." + l.scope)),
    h("td", { dataset: { col: "name" } }, l.name),
    h("td", { class: "nowrap", dataset: { col: "period" } }, t("lim.period." + l.period)),
    h("td", { class: "used" },
      h("div", { class: "nowrap", dataset: { col: "used" } }, `${fmt.cost(l.used_usd)} / ${fmt.cost(l.limit_usd)}`),
      h("div", { class: "meter", dataset: { col: "pct" } },
        h("div", { class: `bar ${kind}`, "aria-hidden": "true" }, h("div", { style: `width:${width}%` })),
        badge(kind, fmt.percent(l.ratio)))));
}

function renderLimits(limits) {
  const near = nearLimits(limits);
  $("limits-card").hidden = !near.length;
  if (!near.length) return;
  const rest = near.length - MAX_LIMITS;
  swap(
    $("limits"),
    h("table", {},
      h("thead", {}, h("tr", {}, ["lim.scope", "lim.name", "lim.period"].map((k) => h("th", {}, t(k))),
        h("th", {}, t("lim.used")))),
      h("tbody", {}, near.slice(0, MAX_LIMITS).map(limitRow))),
    rest > 0 ? h("p", { class: "preview" }, t("lim.more", { n: rest, p: fmt.percent(NEAR_LIMIT) })) : null,
  );
}

function renderAccounts(accounts) {
  // Platforms with no account at all are left out (CRS lists every platform it knows).
  const names = Object.keys(accounts).filter((p) => accounts[p].total > 0);
  if (!names.length) return swap($("accounts"), h("p", { class: "empty" }, t("acc.none")));
  const cols = ["total", "normal", "rate_limited", "abnormal", "paused"];
  swap(
    $("accounts"),
    h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, t("acc.platform")), cols.map((c) => h("th", { class: "num" }, t("acc." + c))))),
      h("tbody", {}, names.map((p) => h("tr", { dataset: { platform: p } }, h("td", {}, p), cols.map((c) => h("td", { class: "num", dataset: { col: c } }, fmt.count(accounts[p][c] || 0))))))),
  );
}

async function silence(a, btn) {
  btn.disabled = true;
  try {
    await call("silence", { rule: a.rule, subject: a.subject, duration: "1h", reason: "dashboard" });
    btn.textContent = t("al.silenced_ok");
    loadAlerts();
  } catch (e) {
    btn.disabled = false;
    btn.title = e.message;
    btn.textContent = t("common.error", { msg: e.message });
  }
}

/** One line saying what an alert is about, from its payload (or the summary the API gives). */
export function summary(a) {
  if (a.summary) return a.summary;
  const p = a.payload || {};
  if (p.kind === "error_rate") return t("al.er", { e: fmt.count(p.errors), r: fmt.count(p.requests), w: p.window_seconds, th: p.threshold });
  if (p.kind === "breaker") return t("al.br", { f: fmt.count(p.failures) }) + (p.last_error ? ` — ${p.last_error}` : "");
  if (p.kind === "quota") return (p.items || []).map((i) => `${i.key_name || i.key_id} ${fmt.cost(i.cost_usd)} / ${fmt.cost(i.limit_usd)} (${i.threshold_pct}%)`).join("; ");
  return a.reason || "";
}

/** Whether one of the silences covers alert `a` (a silence's null rule or subject means any). */
function silencedBy(a, silences) {
  return (silences || []).some((x) => (x.rule == null || x.rule === a.rule) && (x.subject == null || x.subject === a.subject));
}

function alertRow(a, state) {
  const until = a.until || a.ends_at;
  const when = state === "silenced" ? t("al.until", { t: fmt.time(until) }) : t("al.since", { t: fmt.time(a.first_seen) });
  return h("li", { class: "alert", dataset: { state } },
    badge(state === "firing" ? (a.level === "warning" ? "warn" : "firing") : state, t("al." + state)),
    " ", h("strong", {}, a.rule || "*"), " · ", a.subject || "*", " — ", summary(a), " ",
    h("span", { class: "preview" }, when), " ",
    state === "firing" && !a.silenced ? h("button", { type: "button", class: "silence", onclick: (ev) => silence(a, ev.currentTarget) }, t("al.silence1h")) : null);
}

async function loadAlerts() {
  try {
    const al = await call("alerts");
    const items = [
      ...(al.firing || []).map((a) => alertRow({ ...a, silenced: a.silenced || silencedBy(a, al.silenced) }, "firing")),
      ...(al.silenced || []).map((a) => alertRow(a, "silenced")),
      ...(al.resolved || []).map((a) => alertRow(a, "resolved")),
    ];
    swap($("alerts"),
      al.paused_until ? h("p", {}, badge("silenced", t("al.paused", { t: fmt.time(al.paused_until) }))) : null,
      items.length ? h("ul", { class: "plain", style: "list-style:none;padding:0;margin:0;display:grid;gap:6px" }, items) : h("p", { class: "empty" }, t("al.none")));
  } catch (e) {
    swap($("alerts"), h("p", { class: "empty" }, t("common.error", { msg: e.message })));
  }
}

async function retry(id, btn) {
  btn.disabled = true;
  try {
    await call("retry_dead", { id });
    btn.textContent = t("dl.requeued");
  } catch (e) {
    btn.disabled = false;
    btn.textContent = t("common.error", { msg: e.message });
  }
}

async function loadHistory() {
  try {
    const hs = await call("history", { limit: 20 });
    const dead = (hs.dead || []).map((d) =>
      h("tr", { dataset: { dead: d.id } },
        h("td", { class: "nowrap" }, d.time_ms ? fmt.time(new Date(d.time_ms).toISOString()) : "–"), h("td", {}, d.channel), h("td", {}, d.kind || ""),
        h("td", {}, badge("failed", t("dl.dead"))), h("td", { class: "num" }, d.attempts ?? ""), h("td", {}, ""),
        h("td", {}, d.reason || "", " ", h("button", { type: "button", class: "retry", onclick: (ev) => retry(d.id, ev.currentTarget) }, t("dl.retry")))));
    const recs = (hs.records || []).map((r) => {
      const ok = r.result === "delivered";
      const at = r.at || (r.time_ms ? new Date(r.time_ms).toISOString() : null);
      const why = r.error || r.reason || "";
      const status = [r.status ? "HTTP " + r.status : "", r.code != null ? `code ${r.code}` : ""].filter(Boolean).join(", ");
      return h("tr", {},
        h("td", { class: "nowrap" }, fmt.time(at)), h("td", {}, r.channel), h("td", {}, r.kind || ""),
        h("td", {}, badge(ok ? "ok" : r.result === "retry" ? "warn" : "failed", t(ok ? "dl.delivered" : r.result === "retry" ? "dl.retry_pending" : "dl.failed"))),
        h("td", { class: "num" }, r.attempt ?? ""), h("td", { class: "num nowrap" }, r.latency_ms != null ? r.latency_ms + " ms" : ""),
        h("td", {}, [status, why].filter(Boolean).join(" — ")));
    });
    if (!dead.length && !recs.length) return swap($("history"), h("p", { class: "empty" }, t("dl.none")));
    swap($("history"), h("table", {},
      h("thead", {}, h("tr", {}, ["dl.time", "dl.channel", "dl.kind", "dl.result", "dl.attempts", "dl.latency", "dl.reason"].map((k) => h("th", {}, t(k))))),
      h("tbody", {}, dead, recs)));
  } catch (e) {
    swap($("history"), h("p", { class: "empty" }, t("common.error", { msg: e.message })));
  }
}

async function loadSchedules() {
  try {
    const sc = await call("schedules");
    const rows = (sc.schedules || []).map((s) => h("tr", {},
      h("td", {}, h("strong", {}, s.name), h("div", { class: "preview" }, s.reading || s.cron)),
      h("td", {}, s.enabled === false ? t("sc.disabled") : (s.next || []).slice(0, 1).map((n) => fmt.time(n)))));
    swap($("schedules"), rows.length
      ? h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, t("sc.name")), h("th", {}, t("sc.next")))), h("tbody", {}, rows))
      : h("p", { class: "empty" }, t("sc.none")));
  } catch (e) {
    swap($("schedules"), h("p", { class: "empty" }, t("common.error", { msg: e.message })));
  }
}

async function loadErrorRate() {
  try {
    const dr = await call("dry_run", { rule: "error_rate" });
    // The API's windows when it gives them, else the global alert's own counts.
    let w = (dr.windows || []).find((x) => x.subject === "global");
    const g = (dr.alerts || []).find((a) => a.subject === "global" && a.payload && a.payload.requests);
    if (!w && g) w = { total: g.payload.requests, errors: g.payload.errors };
    if (!w || !w.total) return kpi("kpi-errors", t("kpi.no_data"), t("kpi.from_rules"));
    kpi("kpi-errors", fmt.percent(w.errors / w.total), `${fmt.count(w.errors)} / ${fmt.count(w.total)}`);
  } catch {
    kpi("kpi-errors", t("kpi.no_data"), "");
  }
}

async function loadChart(kind) {
  const el = $("chart-" + kind);
  const key = `${lang()}|${effectiveTheme()}`;
  try {
    const svg = await call("chart_svg", { kind, lang: lang(), theme: effectiveTheme() });
    if (chartKey[kind] === svg) return;
    chartKey[kind] = svg;
    const doc = new DOMParser().parseFromString(svg, "image/svg+xml");
    const root = doc.documentElement;
    if (root.nodeName.toLowerCase() !== "svg") throw new Error("not an SVG");
    if (!root.getAttribute("viewBox") && root.getAttribute("width")) {
      root.setAttribute("viewBox", `0 0 ${parseFloat(root.getAttribute("width"))} ${parseFloat(root.getAttribute("height"))}`);
    }
    root.removeAttribute("width");
    root.removeAttribute("height");
    root.setAttribute("role", "img");
    root.setAttribute("aria-label", t("chart." + kind));
    el.replaceChildren(document.importNode(root, true));
    el.dataset.key = key;
  } catch (e) {
    if (!el.firstChild) el.replaceChildren(h("p", { class: "empty" }, t("chart.failed", { msg: e.message })));
  }
}

async function loadCore() {
  // The header fills as soon as the status answers; the numbers when the snapshot does.
  const status = call("status").then(renderStatus, () => null);
  try {
    const snap = await call("snapshot");
    await status;
    // A status that answered before the first snapshot existed says "offline" with no refresh
    // time (the desktop app builds its first snapshot on demand): ask again now that it exists.
    if (!lastStatus || !lastStatus.last_refresh) await call("status").then(renderStatus, () => null);
    renderSnapshot(snap);
    if (!document.body.dataset.loaded) performance.mark("relaywatch:data");
    document.body.dataset.loaded = "1";
  } catch (e) {
    showError(e.message);
    if (lastStatus) {
      $("outdated").hidden = false;
    }
  }
}

async function tick(full) {
  nextAt = Date.now() + REFRESH_MS;
  const core = loadCore();
  const rest = [loadAlerts(), loadHistory(), loadSchedules(), loadErrorRate(), ...CHARTS.map(loadChart)];
  await Promise.all([core, ...rest]);
  if (full) {
    performance.mark("relaywatch:ready");
    document.body.dataset.ready = "1";
  }
}

function countdown() {
  const s = Math.max(0, Math.round((nextAt - Date.now()) / 1000));
  text($("next"), t("hdr.next", { s }));
}

async function refreshNow(ev) {
  const btn = ev.currentTarget;
  btn.disabled = true;
  try {
    renderStatus(await call("refresh"));
  } catch (e) {
    showError(e.message);
  }
  await tick(false);
  btn.disabled = false;
}

applyTheme();
translate();
$("refresh-now").addEventListener("click", refreshNow);
tick(true);
setInterval(() => tick(false), REFRESH_MS);
setInterval(countdown, 1000);
countdown();
