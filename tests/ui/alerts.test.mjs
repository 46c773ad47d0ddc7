// The dashboard's alert and delivery actions in real headless Chromium against
// `relaywatch serve --with-daemon` (engine in the same process) and a real redis-server: an error
// burst posted to /ingest fires the error-rate rule, its message fails at a loopback Slack
// stand-in and is dead-lettered; "Silence 1 h" silences the alert and "Retry now" delivers the
// dead message once the receiver is back. Rule kept: assertions compare the DOM with the API's
// own answers and the receiver's requests; waits poll the API, nothing is timed.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { stack, startReceiver, newPage, SHOTS } from "./harness.mjs";
import * as fmt from "../../ui/js/format.js";

let s;
let rx;
const TAIL = "OpsTail4k";

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  rx = await startReceiver({ status: 500, body: "internal_error" });
  s = await stack("alerts", {
    serveArgs: ["--with-daemon"],
    env: { RW_UI_OPS_URL: `${rx.url}/services/T111/B222/${TAIL}` },
    extraConfig:
      `\n[delivery]\nattempts = 1\n\n` +
      `[rules.error_rate]\nwindow_seconds = 300\nthreshold = 5\ndimensions = ["global"]\n\n` +
      `[rules.quota]\nenabled = false\n\n` +
      `[[channels]]\nname = "ops"\ntype = "slack"\nurl = { env = "RW_UI_OPS_URL" }\n`,
  });
});

after(async () => {
  await s?.close();
  await rx?.stop();
});

/** Polls `probe` (async, returns a value or null) every 200 ms for up to `secs`. */
async function until(what, probe, secs = 60) {
  const end = Date.now() + secs * 1000;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`waited ${secs} s for ${what}\n${s.serve.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test("the error-rate KPI, Silence 1 h on a firing alert and Retry now on a dead delivery", async () => {
  const lines = Array.from({ length: 8 }, (_, i) =>
    JSON.stringify({ status_code: 502, provider_id: "p-ui", model: "claude-sonnet-4-5", key_id: `k${i % 2}`, error_message: "upstream overloaded" }));
  const pushed = await s.serve.api("/ingest", { method: "POST", body: lines.join("\n") + "\n" });
  assert.equal(pushed.pushed, 8, JSON.stringify(pushed));

  const firing = await until("a firing error-rate alert", async () => {
    const al = await s.serve.api("/api/alerts");
    return al.firing.find((a) => a.rule === "error_rate") || null;
  });
  const dead = await until("the failed message in the dead letters", async () => {
    const h = await s.serve.api("/api/history?channel=ops");
    return h.dead.find((d) => d.channel === "ops") || null;
  });
  assert.match(dead.reason || "", /500/, JSON.stringify(dead));
  assert.ok(!JSON.stringify(dead).includes(TAIL), "history never shows the webhook's secret");

  const page = await newPage(s.browser);
  await page.goto(`${s.serve.base}/index.html#token=${s.serve.token}`);
  await page.waitForSelector("body[data-ready='1']");

  // The error-rate KPI is the rule's own sliding window, as its dry run reads it.
  const dr = await s.serve.api("/api/rules/error_rate/dry-run", { method: "POST" });
  const g = dr.windows.find((w) => w.subject === "global");
  assert.deepEqual([g.errors, g.total, g.breached], [8, 8, true], JSON.stringify(dr));
  assert.deepEqual(dr.alerts, [], "a dry run raises nothing");
  assert.equal(await page.locator("#kpi-errors .value").textContent(), fmt.percent(g.errors / g.total));
  assert.equal(await page.locator("#kpi-errors .sub").textContent(), "8 / 8");

  // "Silence 1 h" on the firing error-rate alert (the burst also opened the provider's breaker).
  const row = () => page.locator("#alerts li[data-state='firing']", { hasText: `error_rate · ${firing.subject}` });
  const silence = row().locator("button.silence");
  await silence.waitFor();
  const clickedAt = Date.now();
  await silence.click();
  const sil = await until("the silence", async () => {
    const al = await s.serve.api("/api/alerts");
    return al.silenced.find((x) => x.rule === "error_rate" && x.subject === firing.subject) || null;
  }, 15);
  const lasts = (Date.parse(sil.ends_at) - clickedAt) / 1000;
  assert.ok(lasts > 3500 && lasts < 3700, `the silence lasts 1 h (${lasts} s)`);

  // "Retry now" on the dead message, with the receiver answering again.
  rx.reply.status = 200;
  rx.reply.body = "ok";
  const before = rx.requests.length;
  await page.click("#refresh-now");
  const deadRow = page.locator(`#history tr[data-dead="${dead.id}"]`);
  const retry = deadRow.locator("button.retry");
  await retry.waitFor();
  assert.notEqual((await deadRow.locator("td").first().textContent()).trim(), "–", "the dead row says when it failed");
  await retry.click();
  const delivered = await until("the retried message delivered", async () => {
    const h = await s.serve.api("/api/history?channel=ops");
    return h.records.find((r) => r.id === dead.id && r.result === "delivered") || null;
  });
  assert.equal(delivered.status, 200, JSON.stringify(delivered));
  assert.equal(delivered.kind, dead.kind);
  const got = rx.requests.slice(before).filter((r) => r.url.endsWith(TAIL));
  assert.ok(got.length >= 1, "the dead message reached the receiver again");
  const h = await s.serve.api("/api/history?channel=ops");
  assert.ok(!h.dead.some((d) => d.id === dead.id), "the retried item left the dead letters");

  // The dashboard shows both: the alert under "silenced" and the delivery in the history.
  await page.click("#refresh-now");
  await page.waitForSelector("#alerts li[data-state='silenced']");
  assert.equal(await row().locator("button.silence").count(), 0, "a silenced alert offers no second Silence button");
  await page.waitForSelector("#history td .badge.ok, #history .badge.ok");
  await page.screenshot({ path: path.join(SHOTS, "dashboard-alerts.png"), fullPage: true });
  assert.deepEqual(page.jsErrors, []);
  await page.context().close();
});

test("'What would have fired in the last 24 h?' replays the rule over the recorded events", async () => {
  const api = await s.serve.api("/api/rules/error-rate/replay?from=24h&to=now", { method: "POST" });
  assert.equal(api.source, "stream:relaywatch:events", JSON.stringify(api));
  assert.ok(api.records >= 8, JSON.stringify(api));
  assert.equal(api.summary.firing, 1, "the burst of 8 (threshold 5) fired once: " + JSON.stringify(api));
  assert.equal(api.events[0].count, 5, "it fired at the fifth error");
  const bad = await fetch(`${s.serve.base}/api/rules/quota/replay`, {
    method: "POST", headers: { authorization: `Bearer ${s.serve.token}` } });
  assert.equal(bad.status, 400, "a rule without a replay is refused by name");

  for (const [locale, lang, word] of [["en-US", "en", "firing"], ["zh-CN", "zh-CN", "触发"]]) {
    const page = await newPage(s.browser, { locale });
    await page.goto(`${s.serve.base}/settings.html#token=${s.serve.token}`);
    await page.waitForSelector("body[data-ready='1']");
    await page.click('button.replay[data-rule="error-rate"]');
    await page.waitForSelector("#dry-error_rate.ok");
    const text = await page.locator("#dry-error_rate").textContent();
    assert.ok(text.includes(word) && text.includes("global"), `${lang}: ${text}`);
    assert.ok(text.includes("5/"), `${lang}: the firing line shows the count: ${text}`);
    await page.locator("#sec-rules").screenshot({ path: path.join(SHOTS, `settings-replay-${lang}.png`) });
    assert.deepEqual(page.jsErrors, []);
    await page.context().close();
  }
});
