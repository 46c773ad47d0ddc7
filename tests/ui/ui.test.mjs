// The web UI in real headless Chromium against `relaywatch serve`, a real redis-server seeded with
// CRS data and a loopback webhook receiver. Rule kept: assertions compare the DOM with the API's
// own answers and the files on disk; nothing is timed. Screenshots land in target/ui-screenshots/.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { stack, startReceiver, SHOTS } from "./harness.mjs";
import * as fmt from "../../ui/js/format.js";

let s; // the stack
let receiver;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  receiver = await startReceiver({ status: 200, body: "ok" });
  s = await stack("main");
});

after(async () => {
  await s?.close();
  await receiver?.stop();
});

async function openDashboard(opts = {}) {
  const page = await newPageFor(opts);
  await page.goto(`${s.serve.base}/index.html#token=${s.serve.token}`);
  await page.waitForSelector("body[data-ready='1']");
  return page;
}

async function openSettings(opts = {}) {
  const page = await newPageFor(opts);
  // The token is kept per tab (sessionStorage): land on the dashboard URL first, as a user does.
  await page.goto(`${s.serve.base}/settings.html#token=${s.serve.token}`);
  await page.waitForSelector("body[data-ready='1']");
  return page;
}

async function newPageFor({ locale = "en-US", colorScheme = "light", lang = null } = {}) {
  const ctx = await s.browser.newContext({ locale, colorScheme, viewport: { width: 1280, height: 900 } });
  if (lang) await ctx.addInitScript((l) => localStorage.setItem("relaywatch.lang", l), lang);
  const page = await ctx.newPage();
  page.jsErrors = [];
  page.on("pageerror", (e) => page.jsErrors.push(String(e)));
  return page;
}

const value = (page, id) => page.locator(`#${id} .value`).textContent();

test("the dashboard's numbers equal the snapshot's", async () => {
  const page = await openDashboard();
  const snap = await s.serve.api("/api/snapshot");
  const u = snap.usage_today;
  assert.ok(u.requests > 0, "the seeded data has requests today");
  assert.equal(await value(page, "kpi-requests"), fmt.count(u.requests));
  assert.equal(await value(page, "kpi-requests"), u.requests.toLocaleString("en-US"));
  assert.equal(await value(page, "kpi-tokens"), fmt.tokens(u.all_tokens));
  assert.equal(await value(page, "kpi-cost"), fmt.cost(u.cost_usd));
  assert.match(await value(page, "kpi-cost"), /^\$\d+\.(\d{2}|\d{4}|\d{6})$/);
  assert.equal(await value(page, "kpi-keys"), fmt.count(snap.api_keys.total));
  assert.equal(await value(page, "kpi-rpm"), fmt.rate(snap.realtime.rpm));
  for (const [platform, c] of Object.entries(snap.accounts)) {
    const row = page.locator(`#accounts tr[data-platform="${platform}"]`);
    if (c.total === 0) {
      assert.equal(await row.count(), 0, `${platform} has no accounts and no row`);
      continue;
    }
    for (const col of ["total", "normal", "rate_limited", "abnormal", "paused"]) {
      const cell = page.locator(`#accounts tr[data-platform="${platform}"] td[data-col="${col}"]`);
      assert.equal(await cell.textContent(), fmt.count(c[col]), `${platform}.${col}`);
    }
  }
  // The four charts are the API's SVGs.
  for (const kind of ["overview", "trend", "models", "top-keys"]) {
    assert.equal(await page.locator(`#chart-${kind} svg`).count(), 1, `chart ${kind}`);
  }
  // The token left the visible URL and stays in sessionStorage.
  assert.ok(!page.url().includes("token="), page.url());
  assert.equal(await page.evaluate(() => sessionStorage.getItem("relaywatch.token")), s.serve.token);
  const st = await s.serve.api("/api/status");
  assert.equal(await page.locator("#health").textContent(), st.health === "ok" ? "● OK" : "◷ Stale");
  assert.equal(await page.locator("#outdated").isVisible(), st.stale, "the Outdated tag follows the status");
  assert.equal(await page.locator("#source").textContent(), `crs @ ${st.source.url}`);
  assert.deepEqual(page.jsErrors, []);
  await page.context().close();
});

test("adding a channel stores its secret outside the config file, and a test send reaches the receiver", async () => {
  const page = await openSettings();
  const hook = `${receiver.url}/services/T000/B000/XyzSecretTail9z`;
  await page.click("#add-channel");
  await page.fill("#c-name", "team-ui");
  await page.selectOption("#c-type", "slack");
  await page.fill("#c-url", hook);
  await page.click("#c-save");
  await page.waitForSelector('#channel-result.ok');
  const row = page.locator('.channel[data-channel="team-ui"]');
  await row.waitFor();
  assert.match(await row.textContent(), /••••il9z/);
  const file = readFileSync(s.config, "utf8");
  assert.ok(file.includes("team-ui"), "the channel is in the config");
  assert.ok(!file.includes("XyzSecretTail9z"), "the secret is not in the config file");
  assert.ok(!file.includes(receiver.url), "the webhook URL is not in the config file");
  const cfg = await s.serve.api("/api/config");
  assert.ok(!JSON.stringify(cfg).includes("XyzSecretTail9z"), "the API never returns the secret");

  const before = receiver.requests.length;
  await row.locator("button.test").click();
  await page.waitForSelector('.channel[data-channel="team-ui"] .test-result.ok');
  const got = receiver.requests.slice(before).filter((r) => r.url === "/services/T000/B000/XyzSecretTail9z");
  assert.equal(got.length, 1, "the test message reached the receiver once");
  assert.equal(got[0].method, "POST");
  const shown = await row.locator(".test-result").textContent();
  assert.match(shown, /HTTP 200/);
  assert.match(shown, /Reply: ok/);
  assert.ok(!shown.includes("XyzSecretTail9z"), shown);
  assert.deepEqual(page.jsErrors, []);
  await page.context().close();
});

test("an invalid value shows the field's error and saves nothing", async () => {
  const page = await openSettings();
  const bytes = readFileSync(s.config);
  // Caught inline, with the backend's range.
  await page.fill("#f-tz", "99");
  await page.click("#save");
  const err = page.locator('[data-error-for="source.timezone_offset_hours"]');
  assert.match(await err.textContent(), /between -12 and 14/);
  assert.ok(readFileSync(s.config).equals(bytes), "the file is byte-identical");
  // Refused by the backend: its field error is shown beside the field.
  await page.fill("#f-tz", "0");
  await page.fill('[data-field="schedules.daily.cron"]', "99 * * * *");
  await page.click("#save");
  // #save-result is already "bad" from the inline refusal above: wait for the backend's answer.
  await page.waitForFunction(() => (document.querySelector('[data-error-for="schedules.daily.cron"]')?.textContent || "").length > 0,
    null, { timeout: 10_000 }).catch(() => {});
  const cronErr = await page.locator('[data-error-for="schedules.daily.cron"]').textContent();
  assert.ok(cronErr.length > 0, `the cron field shows an error; save said ${await page.locator("#save-result").textContent()}`);
  assert.ok(readFileSync(s.config).equals(bytes), "the file is byte-identical after a refused save");
  await page.context().close();
});

test("a schedule's cron is read and its next three times previewed as it is typed", async () => {
  const page = await openSettings();
  const cron = page.locator('[data-field="schedules.daily.cron"]');
  await page.waitForSelector('[data-preview-for="daily"] li');
  await cron.fill("30 7 * * 1-5");
  const preview = await s.serve.api("/api/schedules/preview", { method: "POST", body: JSON.stringify({ cron: "30 7 * * 1-5", tz: "UTC", lang: "en" }) });
  await page.waitForFunction((reading) => document.querySelector('[data-preview-for="daily"] div')?.textContent === reading, preview.reading);
  assert.equal(await page.locator('[data-preview-for="daily"] li').count(), 3);
  await page.context().close();
});

test("Test connection shows the key counts and whether the index sets exist", async () => {
  const page = await openSettings();
  await page.click("#test-source");
  await page.waitForSelector("#source-result.ok");
  const probe = await s.serve.api("/api/source/test", { method: "POST", body: "{}" });
  const shown = await page.locator("#source-result").textContent();
  assert.match(shown, new RegExp(`${probe.api_keys} API keys, ${probe.accounts} accounts`));
  assert.match(shown, probe.index_sets ? /index sets present/ : /index sets absent/);
  await page.click('button.dry-run[data-rule="quota"]');
  await page.waitForSelector("#dry-quota.ok");
  assert.match(await page.locator("#dry-quota").textContent(), /^quota: /);
  await page.context().close();
});

test("switching to zh-CN translates the settings and the dashboard", async () => {
  const page = await openSettings();
  await page.selectOption("#d-lang", "zh-CN");
  assert.equal(await page.locator("#h-source").textContent(), "数据源");
  assert.equal(await page.locator("#save").textContent(), "保存");
  assert.equal(await page.evaluate(() => document.documentElement.lang), "zh-CN");
  await page.click('nav a[href="index.html"]');
  await page.waitForSelector("body[data-ready='1']");
  assert.equal(await page.locator("#kpi-requests h2").textContent(), "今日请求");
  await page.context().close();
  // Without a saved choice, the browser's language decides.
  const zh = await openDashboard({ locale: "zh-CN" });
  assert.equal(await zh.locator("#kpi-cost h2").textContent(), "今日费用");
  await zh.context().close();
});

test("screenshots: dashboard and settings, light and dark, en and zh-CN", async () => {
  for (const colorScheme of ["light", "dark"]) {
    for (const lang of ["en", "zh-CN"]) {
      for (const [name, open] of [["dashboard", openDashboard], ["settings", openSettings]]) {
        const page = await open({ colorScheme, lang });
        if (name === "settings") await page.waitForSelector('[data-preview-for="daily"] li');
        const file = path.join(SHOTS, `${name}-${lang}-${colorScheme}.png`);
        await page.screenshot({ path: file, fullPage: true });
        assert.ok(readFileSync(file).length > 10_000, `${file} is not blank`);
        await page.context().close();
      }
    }
  }
});

// Last: it stops the relay's Redis.
test("a failed refresh keeps the numbers on screen and shows the error with the Outdated tag", async () => {
  const page = await openDashboard();
  const before = await value(page, "kpi-requests");
  await s.redis.stop();
  await s.serve.api("/api/refresh", { method: "POST", body: "{}" });
  await page.click("#refresh-now");
  await page.waitForSelector("#error:not([hidden])");
  await page.waitForSelector("#outdated:not([hidden])");
  assert.match(await page.locator("#error").textContent(), /Last refresh failed/);
  assert.equal(await value(page, "kpi-requests"), before, "the last good numbers stay");
  assert.match(await page.locator("#health").textContent(), /Stale/);
  await page.screenshot({ path: path.join(SHOTS, "dashboard-en-light-stale.png"), fullPage: true });
  await page.context().close();
});
