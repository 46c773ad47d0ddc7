// The settings page: loads the config, edits it in place and saves it whole; channels are saved
// one by one with their secrets typed once. Rule kept: inline checks use the backend's ranges, the
// backend checks again, and a refused save shows each field's error beside it and changes nothing.

import { call, ApiError, inApp } from "./api.js";
import { t, translate, lang } from "./i18n.js";
import { applyTheme, pref, setPref } from "./prefs.js";
import * as fmt from "./format.js";
import { h, badge } from "./dom.js";

const $ = (id) => document.getElementById(id);

// The backend's ranges (crates/relaywatch-core/src/config/rules.rs and quota.rs `limits`).
const RULE_FIELDS = {
  "rules-er": [
    ["rules.error_rate.enabled", "ru.er.enabled", "bool"],
    ["rules.error_rate.window_seconds", "ru.er.window", 1, 3600],
    ["rules.error_rate.threshold", "ru.er.threshold", 0, 1000000],
    ["rules.error_rate.min_requests", "ru.er.min", 1, 1000000],
    ["rules.error_rate.cooldown_seconds", "ru.er.cooldown", 0, 86400],
    ["rules.error_rate.status_code_threshold", "ru.er.status", 100, 599],
  ],
  "rules-br": [
    ["rules.breaker.enabled", "ru.br.enabled", "bool"],
    ["rules.breaker.failures", "ru.br.failures", 1, 10000],
    ["rules.breaker.open_seconds", "ru.br.open", 1, 86400],
    ["rules.breaker.half_open_successes", "ru.br.half", 1, 1000],
  ],
  "rules-qu": [
    ["rules.quota.enabled", "ru.qu.enabled", "bool"],
    ["rules.quota.thresholds", "ru.qu.thresholds", "list", 1, 1000],
  ],
};

const CHANNEL_TYPES = ["slack", "discord", "dingtalk", "wecom", "feishu", "lark", "telegram", "generic"];
const SECRET_FIELDS = ["url", "secret"];

let config = null; // the last GET /api/config body

const get = (obj, path) => path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);
function set(obj, path, value) {
  const keys = path.split(".");
  let o = obj;
  for (const k of keys.slice(0, -1)) o = o[k] ??= {};
  o[keys.at(-1)] = value;
}

function fieldId(path) {
  return "f-" + path.replace(/[^a-z0-9]+/gi, "-");
}

function buildRuleFields() {
  for (const [box, fields] of Object.entries(RULE_FIELDS)) {
    $(box).replaceChildren(
      ...fields.map(([path, label, kind, a, b]) => {
        const id = fieldId(path);
        if (kind === "bool") {
          return h("div", { class: "field check wide" },
            h("input", { id, type: "checkbox", dataset: { field: path } }),
            h("label", { for: id, dataset: { i18n: label } }, t(label)),
            h("span", { class: "field-error", dataset: { errorFor: path } }));
        }
        if (kind === "list") {
          return h("div", { class: "field" },
            h("label", { for: id, dataset: { i18n: label } }, t(label)),
            h("input", { id, type: "text", inputmode: "numeric", pattern: "\\s*\\d+(\\s*,\\s*\\d+)*\\s*", dataset: { field: path, kind: "list", min: a, max: b } }),
            h("span", { class: "hint", dataset: { i18n: "ru.qu.thresholds_hint" } }, t("ru.qu.thresholds_hint")),
            h("span", { class: "field-error", dataset: { errorFor: path } }));
        }
        const [lo, hi] = [kind, a]; // a numeric field: [path, label, min, max]
        return h("div", { class: "field" },
          h("label", { for: id, dataset: { i18n: label } }, t(label)),
          h("input", { id, type: "number", min: String(lo), max: String(hi), step: "1", required: true, dataset: { field: path } }),
          h("span", { class: "hint" }, `${lo} – ${hi}`),
          h("span", { class: "field-error", dataset: { errorFor: path } }));
      }),
    );
  }
}

function fill(settings) {
  for (const el of document.querySelectorAll("#form [data-field]")) {
    const v = get(settings, el.dataset.field);
    if (el.type === "checkbox") el.checked = !!v;
    else if (el.dataset.kind === "list") el.value = Array.isArray(v) ? v.join(", ") : "";
    else if (el.dataset.kind === "secretref") el.value = v && typeof v === "object" ? JSON.stringify(v) : (v ?? "");
    else el.value = v ?? "";
  }
  showKind();
}

/** Claude Code Hub's fields show only when the relay is CCH. */
function showKind() {
  const cch = $("f-kind").value === "cch";
  for (const el of document.querySelectorAll(".cch-only")) el.hidden = !cch;
}

/** Check one input against its HTML constraints and its list rule; returns the problem or "". */
function inlineProblem(el) {
  if (el.dataset.kind === "list") {
    const raw = el.value.trim();
    if (!raw) return "";
    const nums = raw.split(",").map((x) => Number(x.trim()));
    const lo = Number(el.dataset.min), hi = Number(el.dataset.max);
    const ok = nums.every((n, i) => Number.isInteger(n) && n >= lo && n <= hi && (i === 0 || n > nums[i - 1]));
    return ok ? "" : `must be ascending percentages between ${lo} and ${hi}`;
  }
  if (el.validity && !el.validity.valid) {
    if (el.validity.rangeUnderflow || el.validity.rangeOverflow) return `must be between ${el.min} and ${el.max}`;
    if (el.validity.valueMissing) return "is required";
    return el.validationMessage || "is not valid";
  }
  return "";
}

function errorSlot(field) {
  return document.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
}

function clearErrors(root = document) {
  for (const el of root.querySelectorAll(".field-error")) el.textContent = "";
  for (const el of root.querySelectorAll(".field.has-error")) el.classList.remove("has-error");
}

function showFieldError(field, msg) {
  const slot = errorSlot(field);
  if (!slot) return false;
  slot.textContent = msg;
  slot.closest(".field")?.classList.add("has-error");
  return true;
}

function validateInline() {
  clearErrors($("form"));
  let bad = 0;
  for (const el of document.querySelectorAll("#form [data-field]")) {
    const p = inlineProblem(el);
    if (p) {
      bad++;
      showFieldError(el.dataset.field, `\`${el.dataset.field}\` = ${el.value}: ${p}`);
    }
  }
  return bad;
}

function collect() {
  const settings = structuredClone(config.settings);
  for (const el of document.querySelectorAll("#form [data-field]")) {
    let v;
    if (el.type === "checkbox") v = el.checked;
    else if (el.dataset.kind === "list") v = el.value.split(",").map((x) => x.trim()).filter(Boolean).map(Number);
    else if (el.type === "number") v = el.value === "" ? null : Number(el.value);
    else if (el.dataset.kind === "secretref" && el.value.trim().startsWith("{")) {
      try { v = JSON.parse(el.value.trim()); } catch { v = el.value.trim(); }
    } else v = el.value.trim() === "" ? null : el.value.trim();
    set(settings, el.dataset.field, v);
  }
  return settings;
}

function result(el, ok, msg) {
  el.className = "result " + (ok ? "ok" : "bad");
  el.textContent = msg;
}

async function save() {
  const out = $("save-result");
  if (validateInline()) return result(out, false, t("st.invalid_inline"));
  $("save").disabled = true;
  try {
    config = await call("save_config", { settings: collect() });
    fill(config.settings);
    renderChannels();
    renderSchedules();
    result(out, true, t("st.saved"));
  } catch (e) {
    showBackendErrors(e, out);
  } finally {
    $("save").disabled = false;
  }
}

function showBackendErrors(e, out) {
  clearErrors();
  const fields = (e instanceof ApiError && e.fields) || [];
  const unplaced = [];
  for (const f of fields) {
    const msg = `\`${f.field}\` = ${f.value}: ${f.fix}`;
    const ch = /^channels\[\d+\]\.(\w+)/.exec(f.field);
    if (!(showFieldError(f.field, msg) || (ch && showFieldError("channel." + ch[1], msg)))) unplaced.push(msg);
  }
  if (fields.length) result(out, false, [t("st.save_refused", { n: fields.length }), ...unplaced].join("\n"));
  else result(out, false, t("st.save_failed", { msg: e.message }));
}

// ---- source

async function testSource() {
  const out = $("source-result");
  out.className = "result";
  out.textContent = t("common.loading");
  const url = $("f-redis-url").value.trim();
  try {
    const cch = $("f-kind").value === "cch";
    const r = await call("test_source", !cch && url && !url.includes("***") ? { redis_url: url } : {});
    if (r.database) {
      const d = r.database;
      const db = d.ok
        ? t("src.test_db_ok", { url: fmt.maskUrl(d.url), users: fmt.count(d.users), keys: fmt.count(d.keys), prov: fmt.count(d.providers), rows: fmt.count(d.ledger_rows), tz: d.timezone || "UTC" })
        : t("src.test_db_bad", { err: d.error });
      const redis = r.url ? (r.error ? t("src.test_bad", { err: r.error }) : fmt.maskUrl(r.url)) : "";
      result(out, r.ok, [db, redis].filter(Boolean).join("\n"));
    } else if (r.ok) {
      result(out, true, t("src.test_ok", {
        url: fmt.maskUrl(r.url), keys: fmt.count(r.api_keys), acc: fmt.count(r.accounts), usage: fmt.count(r.usage_keys),
        idx: t(r.index_sets ? "src.idx_yes" : "src.idx_no"),
      }));
    } else result(out, false, t("src.test_bad", { err: r.error }));
  } catch (e) {
    result(out, false, t("src.test_bad", { err: e.message }));
  }
}

// ---- channels

function renderChannels() {
  const list = config.settings.channels || [];
  if (!list.length) return $("channels").replaceChildren(h("p", { class: "empty" }, t("ch.none")));
  $("channels").replaceChildren(
    ...list.map((c) => {
      const masked = (config.secrets && config.secrets[c.name]) || {};
      return h("div", { class: "channel", dataset: { channel: c.name } },
        h("header", {},
          h("strong", {}, c.name), badge("info", c.type),
          c.enabled === false ? badge("silenced", t("ch.disabled")) : null,
          ...Object.entries(masked).map(([k, v]) => h("span", { class: "masked", title: k }, `${k}: ${v}`))),
        h("div", { class: "actions" },
          h("button", { type: "button", class: "test", onclick: () => testChannel(c.name) }, t("ch.test")),
          h("button", { type: "button", class: "edit", onclick: () => editChannel(c) }, t("ch.edit")),
          h("button", { type: "button", class: "danger remove", onclick: () => removeChannel(c.name) }, t("ch.remove"))),
        h("output", { class: "result test-result" }));
    }),
  );
}

function secretInput(field, labelKey, existing) {
  const id = "c-" + field;
  const input = h("input", { id, type: "password", autocomplete: "new-password", spellcheck: "false", dataset: { secret: field } });
  const wrap = h("div", { class: "field" }, h("label", { for: id }, t(labelKey)));
  if (existing) {
    input.hidden = true;
    const shown = h("span", { class: "masked" }, existing);
    const btn = h("button", { type: "button", class: "replace" }, t("ch.replace"));
    btn.addEventListener("click", () => {
      const on = input.hidden;
      input.hidden = !on;
      input.value = "";
      btn.textContent = t(on ? "ch.keep" : "ch.replace");
      if (on) input.focus();
    });
    wrap.append(h("div", { class: "actions", style: "margin:0" }, shown, btn), input);
  } else wrap.append(input);
  wrap.append(h("span", { class: "hint" }, t("ch.secret_hint")), h("span", { class: "field-error", dataset: { errorFor: "channel." + field } }));
  return wrap;
}

function editChannel(existing) {
  const c = existing || { name: "", type: "slack", enabled: true };
  const masked = existing ? (config.secrets && config.secrets[c.name]) || {} : {};
  const type = h("select", { id: "c-type" }, CHANNEL_TYPES.map((x) => h("option", { value: x, selected: x === c.type }, x)));
  const urlLabel = () => (type.value === "telegram" ? "ch.url_telegram" : "ch.url");
  const chat = h("div", { class: "field", hidden: c.type !== "telegram" },
    h("label", { for: "c-chat" }, t("ch.chat_id")), h("input", { id: "c-chat", type: "text", value: c.chat_id || "" }),
    h("span", { class: "field-error", dataset: { errorFor: "channel.chat_id" } }));
  const urlField = secretInput("url", urlLabel(), masked.url);
  type.addEventListener("change", () => {
    chat.hidden = type.value !== "telegram";
    urlField.querySelector("label").textContent = t(urlLabel());
  });
  const form = h("form", { class: "channel", id: "channel-form", novalidate: true },
    h("div", { class: "fields" },
      h("div", { class: "field" }, h("label", { for: "c-name" }, t("ch.name")),
        h("input", { id: "c-name", type: "text", required: true, pattern: "[A-Za-z0-9_.-]{1,64}", value: c.name, disabled: !!existing }),
        h("span", { class: "field-error", dataset: { errorFor: "channel.name" } })),
      h("div", { class: "field" }, h("label", { for: "c-type" }, t("ch.type")), type),
      urlField,
      secretInput("secret", "ch.secret", masked.secret),
      chat,
      h("div", { class: "field" }, h("label", { for: "c-lang" }, t("ch.lang")),
        h("select", { id: "c-lang" }, ["", "en", "zh-CN"].map((l) => h("option", { value: l, selected: (c.lang || "") === l }, l || "—")))),
      h("div", { class: "field check" }, h("input", { id: "c-enabled", type: "checkbox", checked: c.enabled !== false }), h("label", { for: "c-enabled" }, t("ch.enabled")))),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary", id: "c-save" }, t("ch.save")),
      h("button", { type: "button", onclick: () => $("channel-editor").replaceChildren() }, t("ch.cancel"))));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    saveChannel(existing, form);
  });
  $("channel-editor").replaceChildren(form);
  form.querySelector(existing ? "#c-type" : "#c-name").focus();
}

async function saveChannel(existing, form) {
  const out = $("channel-result");
  clearErrors(form);
  const name = form.querySelector("#c-name");
  if (!name.checkValidity()) {
    showFieldError("channel.name", `\`name\` = ${name.value}: 1 to 64 letters, digits, '_', '.', '-'`);
    return;
  }
  const channel = existing ? structuredClone(existing) : { name: name.value.trim() };
  channel.type = form.querySelector("#c-type").value;
  channel.enabled = form.querySelector("#c-enabled").checked;
  const l = form.querySelector("#c-lang").value;
  if (l) channel.lang = l;
  else delete channel.lang;
  const chat = form.querySelector("#c-chat").value.trim();
  if (channel.type === "telegram" && chat) channel.chat_id = chat;
  else delete channel.chat_id;
  const secrets = {};
  for (const f of SECRET_FIELDS) {
    const input = form.querySelector(`[data-secret="${f}"]`);
    if (input && !input.hidden && input.value.trim()) secrets[f] = input.value.trim();
  }
  if (!existing && !secrets.url) {
    showFieldError("channel.url", "`url`: the webhook URL (Telegram: the bot token) is required");
    return;
  }
  try {
    const r = await call(existing ? "update_channel" : "add_channel", { name: channel.name, channel, secrets });
    for (const input of form.querySelectorAll("input[type=password]")) input.value = "";
    config = r;
    renderChannels();
    $("channel-editor").replaceChildren();
    result(out, true, t("ch.saved", { where: r.stored_in || "keychain" }));
  } catch (e) {
    showBackendErrors(e, out);
  }
}

async function removeChannel(name) {
  if (!window.confirm(t("ch.confirm_remove", { n: name }))) return;
  try {
    config = await call("remove_channel", { name });
    renderChannels();
    result($("channel-result"), true, t("ch.removed"));
  } catch (e) {
    result($("channel-result"), false, t("common.error", { msg: e.message }));
  }
}

async function testChannel(name) {
  const row = document.querySelector(`.channel[data-channel="${CSS.escape(name)}"]`);
  const out = row.querySelector(".test-result");
  const btn = row.querySelector("button.test");
  btn.disabled = true;
  out.className = "result test-result";
  out.textContent = t("common.loading");
  try {
    const r = await call("test_channel", { name, lang: lang() });
    const a = (r.attempts || []).at(-1) || {};
    const vars = { status: a.status ?? "–", ms: a.latency_ms ?? "–", reply: a.reply ?? "", rule: a.rule ?? "", outcome: a.outcome ?? "" };
    result(out, r.delivered, t(r.delivered ? "ch.test_ok" : "ch.test_bad", vars));
    out.classList.add("test-result");
  } catch (e) {
    result(out, false, t("common.error", { msg: e.message }));
    out.classList.add("test-result");
  } finally {
    btn.disabled = false;
  }
}

// ---- rules

async function dryRun(rule) {
  const out = $("dry-" + rule);
  out.className = "result";
  out.textContent = t("common.loading");
  try {
    const r = await call("dry_run", { rule });
    const n = (r.items || []).length || (r.alerts || []).length;
    const head = t(n ? "ru.dry_some" : "ru.dry_none", { rule, n });
    const lines = (r.items || []).length
      ? r.items.map((i) => `• ${i.scope} ${i.name} (#${i.id}) ${i.period}: $${i.used_usd.toFixed(2)} / $${i.limit_usd.toFixed(2)} (${i.percent}%)`)
      : (r.alerts || []).map((a) => `• ${a.subject} [${a.state || a.level || ""}]`);
    const windows = (r.windows || []).map((w) => t("ru.dry_window", {
      subject: w.subject, errors: w.errors, total: w.total, w: w.window_seconds, verdict: t(w.breached ? "ru.would_fire" : "ru.below"),
    }));
    const firing = (r.windows || []).filter((w) => w.breached).length;
    const top = windows.length ? t(firing ? "ru.dry_some" : "ru.dry_none", { rule, n: firing }) : head;
    result(out, true, [top, ...lines, ...windows].join("\n"));
  } catch (e) {
    result(out, false, t("common.error", { msg: e.message }));
  }
}

/** "What would have fired in the last 24 h?": the rule replayed over recorded events. */
async function replay(rule) {
  const out = $(rule === "breaker" ? "replay-breaker" : "dry-error_rate");
  out.className = "result";
  out.textContent = t("common.loading");
  try {
    const r = await call("replay", { rule, from: "24h", to: "now" });
    const s = r.summary || { firing: 0, resolved: 0 };
    const args = { rule, n: r.records, source: r.source, f: s.firing, r: s.resolved };
    const head = t(s.firing || s.resolved ? "ru.replay_some" : "ru.replay_none", args);
    const lines = (r.events || []).slice(0, 50).map((e) =>
      `• ${new Date(e.at).toLocaleString()}  ${t("ru.replay_" + e.state)}  ${e.subject}  ${e.count}/${e.total}`);
    if ((r.events || []).length > 50) lines.push(`… +${r.events.length - 50}`);
    result(out, true, [head, ...lines].join("\n"));
  } catch (e) {
    result(out, false, t("common.error", { msg: e.message }));
  }
}

// ---- schedules

function debounce(fn, ms) {
  let timer = 0;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

async function preview(name, cronEl, tzEl, out) {
  const path = `schedules.${name}.cron`;
  const slot = errorSlot(path);
  try {
    const r = await call("preview_schedule", { cron: cronEl.value.trim(), tz: tzEl.value.trim() || null, lang: lang() });
    slot.textContent = "";
    slot.closest(".field")?.classList.remove("has-error");
    out.replaceChildren(h("div", {}, r.reading), h("ol", {}, (r.next || []).slice(0, 3).map((n) => h("li", {}, fmt.time(n)))));
  } catch (e) {
    const f = (e.fields || [])[0];
    showFieldError(path, t("sch.invalid", { msg: f ? `${f.fix}` : e.message }));
    out.replaceChildren();
  }
}

function renderSchedules() {
  const all = config.settings.schedules || {};
  const names = Object.keys(all).filter((n) => all[n].cron != null);
  if (!names.length) return $("schedules").replaceChildren(h("p", { class: "empty" }, t("sc.none")));
  $("schedules").replaceChildren(
    ...names.map((name) => {
      const cronId = fieldId(`schedules.${name}.cron`);
      const tzId = fieldId(`schedules.${name}.tz`);
      const cronEl = h("input", { id: cronId, type: "text", spellcheck: "false", dataset: { field: `schedules.${name}.cron` } });
      const tzEl = h("input", { id: tzId, type: "text", spellcheck: "false", placeholder: "UTC", dataset: { field: `schedules.${name}.tz` } });
      cronEl.value = all[name].cron || "";
      tzEl.value = all[name].tz || "";
      const out = h("div", { class: "preview", "aria-live": "polite", dataset: { previewFor: name } });
      const run = debounce(() => preview(name, cronEl, tzEl, out), 300);
      cronEl.addEventListener("input", run);
      tzEl.addEventListener("input", run);
      run();
      return h("div", { class: "channel", dataset: { schedule: name } },
        h("header", {}, h("strong", {}, name), badge("info", all[name].kind || "report")),
        h("div", { class: "fields" },
          h("div", { class: "field" }, h("label", { for: cronId, dataset: { i18n: "sch.cron" } }, t("sch.cron")), cronEl,
            h("span", { class: "field-error", dataset: { errorFor: `schedules.${name}.cron` } })),
          h("div", { class: "field" }, h("label", { for: tzId, dataset: { i18n: "sch.tz" } }, t("sch.tz")), tzEl,
            h("span", { class: "field-error", dataset: { errorFor: `schedules.${name}.tz` } }))),
        h("div", { class: "field" }, h("span", { class: "label", dataset: { i18n: "sch.preview" } }, t("sch.preview")), out));
    }),
  );
}

// ---- local preferences, display, general

async function bindAutostart() {
  const box = $("g-autostart");
  if (!inApp()) {
    box.disabled = true;
    return;
  }
  try {
    box.checked = !!(await call("get_autostart"));
  } catch {
    /* an older app: leave the box as it is */
  }
  box.addEventListener("change", () => call("set_autostart", { enabled: box.checked }).catch((e) => {
    box.checked = !box.checked;
    result($("pause-result"), false, t("common.error", { msg: e.message }));
  }));
}

function bindPrefs() {
  for (const el of document.querySelectorAll("[data-pref]")) {
    const v = pref(el.dataset.pref);
    if (el.type === "checkbox") {
      if (v != null) el.checked = v === "1";
      el.addEventListener("change", () => setPref(el.dataset.pref, el.checked ? "1" : "0"));
    } else {
      if (v != null) el.value = v;
      el.addEventListener("change", () => setPref(el.dataset.pref, el.value));
    }
  }
  $("d-lang").value = lang();
  $("d-lang").addEventListener("change", () => {
    setPref("lang", $("d-lang").value);
    translate();
    renderChannels();
  });
  $("d-theme").value = pref("theme") || "";
  $("d-theme").addEventListener("change", () => {
    setPref("theme", $("d-theme").value);
    applyTheme();
  });
}

async function pause() {
  const out = $("pause-result");
  try {
    const s = await call("silence", { rule: null, subject: null, duration: "1h", reason: "paused from settings" });
    result(out, true, t("gn.paused", { t: fmt.time(s.until) }));
  } catch (e) {
    result(out, false, t("common.error", { msg: e.message }));
  }
}

async function load() {
  try {
    config = await call("get_config");
    fill(config.settings);
    renderChannels();
    renderSchedules();
    $("config-path").textContent = t("st.config_path", { p: config.path || "" });
    document.body.dataset.ready = "1";
  } catch (e) {
    const el = $("load-error");
    el.textContent = t("common.error", { msg: e.message });
    el.hidden = false;
  }
}

applyTheme();
buildRuleFields();
translate();
bindPrefs();
bindAutostart();
$("save").addEventListener("click", save);
$("form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  save();
});
$("test-source").addEventListener("click", testSource);
$("add-channel").addEventListener("click", () => editChannel(null));
$("pause").addEventListener("click", pause);
$("f-kind").addEventListener("change", showKind);
for (const b of document.querySelectorAll(".dry-run")) b.addEventListener("click", () => dryRun(b.dataset.rule));
for (const b of document.querySelectorAll(".replay")) b.addEventListener("click", () => replay(b.dataset.rule));
for (const el of document.querySelectorAll("#form input[data-field]")) {
  el.addEventListener("change", () => {
    const p = inlineProblem(el);
    const slot = errorSlot(el.dataset.field);
    if (slot) {
      slot.textContent = p ? `\`${el.dataset.field}\` = ${el.value}: ${p}` : "";
      slot.closest(".field")?.classList.toggle("has-error", !!p);
    }
  });
}
load();
