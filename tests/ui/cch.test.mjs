// The dashboard on a Claude Code Hub relay, in real headless Chromium against `relaywatch serve`
// reading a throw-away PostgreSQL seeded with CCH's tables (the testkit's demo hub, through
// examples/seed_cch_ui) and a real redis-server holding CCH's breaker hashes. Rule kept: the DOM
// is compared with `/api/snapshot`'s own answer; the PostgreSQL started here is stopped in
// `after`, whatever failed. Screenshots land in target/ui-screenshots/dashboard-cch-*.png.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { startPostgres, startRedis, startServe, launch, newPage, tempDir, SEEDER_CCH, SHOTS } from "./harness.mjs";
import * as fmt from "../../ui/js/format.js";

const NEAR = 0.8; // the dashboard's "near the end" share
const BADGE = { closed: "ok", "half-open": "warn", open: "bad" };
const WORD = {
  en: { closed: "Closed", "half-open": "Half-open", open: "Open" },
  "zh-CN": { closed: "关闭", "half-open": "半开", open: "打开" },
};

let pg, redis, serve, browser, seeded, config;

async function cleanup() {
  await browser?.close().catch(() => {});
  await serve?.stop();
  await redis?.stop();
  await pg?.stop();
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  try {
    pg = await startPostgres();
    redis = await startRedis();
    seeded = JSON.parse(execFileSync(SEEDER_CCH, [pg.url, redis.url], { encoding: "utf8" }).trim());
    const dir = tempDir("cch");
    config = path.join(dir, "relaywatch.toml");
    writeFileSync(
      config,
      `[source]\nkind = "cch"\ndatabase_url = "${pg.url}"\nredis_url = "${redis.url}"\n\n` +
        `[network]\nallow = ["127.0.0.1/32"]\nallow_http = true\n\n` +
        `[schedules.daily]\ncron = "0 9 * * *"\ntz = "UTC"\nkind = "report"\n`,
    );
    serve = await startServe(config);
    browser = await launch();
  } catch (e) {
    await cleanup();
    throw e;
  }
});

after(cleanup);

async function openDashboard(locale = "en-US") {
  const page = await newPage(browser, { locale });
  await page.goto(`${serve.base}/index.html#token=${serve.token}`);
  await page.waitForSelector("body[data-ready='1']");
  return page;
}

const txt = (loc) => loc.textContent().then((s) => s.trim());

/** The limits the dashboard must list: at or over 80 %, fullest first, at most 10. */
function near(limits) {
  return (limits || [])
    .filter((l) => l.limit_usd > 0 && l.used_usd / l.limit_usd >= NEAR)
    .sort((a, b) => b.used_usd / b.limit_usd - a.used_usd / a.limit_usd || a.name.localeCompare(b.name))
    .slice(0, 10);
}

test("providers take the accounts card's place, with their breakers as the snapshot says", async () => {
  const page = await openDashboard();
  const snap = await serve.api("/api/snapshot");
  assert.equal(snap.source, "cch");
  assert.deepEqual(snap.accounts, {}, "CCH has no accounts");
  assert.equal(await page.locator("#accounts-card").isVisible(), false);
  assert.equal(await page.locator("#providers-card").isVisible(), true);
  assert.equal(await txt(page.locator("#providers-card h2")), "Providers");

  // The seed: four providers, one soft-deleted (with an open breaker in Redis); the first open,
  // the second open past its end (CCH reads it half-open), the third without a hash (closed).
  const live = seeded.providers.filter((p) => p.id !== seeded.deleted_provider);
  assert.deepEqual(snap.providers.map((p) => p.id), live.map((p) => p.id));
  assert.deepEqual(snap.providers.map((p) => p.breaker.state), ["open", "half-open", "closed"]);

  const rows = page.locator("#providers tbody tr");
  assert.equal(await rows.count(), snap.providers.length);
  for (const p of snap.providers) {
    const row = page.locator(`#providers tr[data-provider="${p.id}"]`);
    assert.equal(await txt(row.locator('td[data-col="name"]')), p.name);
    assert.equal(await txt(row.locator('td[data-col="type"]')), p.type);
    assert.equal(await txt(row.locator('td[data-col="enabled"]')), p.enabled ? "yes" : "no");
    const cell = row.locator('td[data-col="breaker"]');
    assert.equal(await cell.getAttribute("data-state"), p.breaker.state);
    const badge = cell.locator(".badge");
    assert.equal(await badge.getAttribute("class"), `badge ${BADGE[p.breaker.state]}`, `${p.name}'s badge`);
    assert.match(await txt(badge), new RegExp(`${WORD.en[p.breaker.state]}$`));
    const shown = await txt(cell);
    if (p.breaker.state !== "closed") assert.ok(shown.includes(`${p.breaker.failure_count} failures`), shown);
    if (p.breaker.state === "open") {
      const hm = await page.evaluate((iso) => {
        const d = new Date(iso);
        return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
      }, p.breaker.open_until);
      assert.ok(shown.includes(`until ${hm}`), shown);
    }
  }
  const deleted = seeded.providers.find((p) => p.id === seeded.deleted_provider);
  assert.equal(await page.locator(`#providers tr[data-provider="${deleted.id}"]`).count(), 0);
  assert.ok(!(await page.locator("#providers").textContent()).includes(deleted.name), "no deleted provider");
  assert.deepEqual(page.jsErrors, []);
  await page.context().close();
});

test("top users, the limits near their end, and today's errors equal the snapshot's", async () => {
  const page = await openDashboard();
  const snap = await serve.api("/api/snapshot");

  assert.ok(snap.top_users.length > 0, "the demo hub has users with usage");
  assert.equal(await page.locator("#top-users-card").isVisible(), true);
  assert.equal(await page.locator("#top-users tbody tr").count(), snap.top_users.length);
  for (const [i, u] of snap.top_users.entries()) {
    const row = page.locator("#top-users tbody tr").nth(i);
    assert.equal(await row.getAttribute("data-user"), u.id);
    assert.equal(await txt(row.locator('[data-col="rank"]')), String(i + 1));
    assert.equal(await txt(row.locator('[data-col="name"]')), u.name);
    assert.equal(await txt(row.locator('[data-col="requests"]')), fmt.count(u.requests));
    assert.equal(await txt(row.locator('[data-col="tokens"]')), fmt.tokens(u.all_tokens));
    assert.equal(await txt(row.locator('[data-col="cost"]')), fmt.cost(u.cost_usd));
  }
  const gone = seeded.users.find((u) => u.id === seeded.deleted_user);
  assert.equal(await page.locator(`#top-users tr[data-user="${gone.id}"]`).count(), 0, "no deleted user");

  // Limits: the seed has one key at exactly 80 % and one at 117.5 % of its daily limit.
  const want = near(snap.limits);
  const over = want.find((l) => l.scope === "key" && l.id === seeded.key_daily_over.id && l.period === "daily");
  const at80 = want.find((l) => l.scope === "key" && l.id === seeded.key_daily_80.id && l.period === "daily");
  assert.ok(over && at80, `both seeded keys are near their end: ${JSON.stringify(want)}`);
  assert.equal(fmt.percent(over.used_usd / over.limit_usd), "117.5%");
  assert.equal(fmt.percent(at80.used_usd / at80.limit_usd), "80.0%");
  assert.equal(await page.locator("#limits-card").isVisible(), true);
  const rows = page.locator("#limits tbody tr");
  assert.equal(await rows.count(), want.length);
  for (const [i, l] of want.entries()) {
    const row = rows.nth(i);
    const ratio = l.used_usd / l.limit_usd;
    assert.equal(await row.getAttribute("data-limit"), `${l.scope}:${l.id}:${l.period}`, `row ${i} in order`);
    assert.equal(await txt(row.locator('[data-col="name"]')), l.name);
    assert.equal(await txt(row.locator('[data-col="used"]')), `${fmt.cost(l.used_usd)} / ${fmt.cost(l.limit_usd)}`);
    const badge = row.locator('[data-col="pct"] .badge');
    assert.match(await txt(badge), new RegExp(`${fmt.percent(ratio).replace(".", "\\.")}$`));
    assert.equal(await badge.getAttribute("class"), `badge ${ratio >= 1 ? "bad" : "warn"}`);
  }
  // Every limit under 80 % is left out.
  for (const l of snap.limits.filter((x) => x.used_usd / x.limit_usd < NEAR)) {
    assert.equal(await page.locator(`#limits tr[data-limit="${l.scope}:${l.id}:${l.period}"]`).count(), 0, `${l.name} ${l.period}`);
  }
  assert.equal(await txt(rows.nth(0).locator('[data-col="name"]')), seeded.key_daily_over.name, "the fullest first");

  const u = snap.usage_today;
  assert.equal(typeof u.errors, "number", "CCH records errors");
  assert.equal(await page.locator("#errors-today").isVisible(), true);
  assert.equal(await txt(page.locator("#errors-today")), `${fmt.count(u.errors)} errors (${fmt.percent(u.errors / u.requests)})`);
  assert.equal(await txt(page.locator("#kpi-requests .value")), fmt.count(u.requests));
  assert.deepEqual(page.jsErrors, []);
  await page.context().close();
});

test("zh-CN: the CCH cards are translated", async () => {
  const page = await openDashboard("zh-CN");
  const snap = await serve.api("/api/snapshot");
  assert.equal(await txt(page.locator("#providers-card h2")), "供应商");
  assert.equal(await txt(page.locator("#top-users-card h2")), "用户排行");
  assert.equal(await txt(page.locator("#limits-card h2")), "接近上限的限额");
  for (const p of snap.providers) {
    const badge = page.locator(`#providers tr[data-provider="${p.id}"] td[data-col="breaker"] .badge`);
    assert.match(await txt(badge), new RegExp(`${WORD["zh-CN"][p.breaker.state]}$`));
  }
  const open = snap.providers.find((p) => p.breaker.state === "open");
  assert.match(await txt(page.locator(`#providers tr[data-provider="${open.id}"] td[data-col="breaker"]`)), new RegExp(`失败 ${open.breaker.failure_count} 次 · 至 \\d\\d:\\d\\d`));
  const u = snap.usage_today;
  assert.equal(await txt(page.locator("#errors-today")), `错误 ${fmt.count(u.errors)} 次（${fmt.percent(u.errors / u.requests)}）`);
  assert.equal(await txt(page.locator("#limits tbody tr").first().locator('[data-col="period"]')), "每日");
  assert.deepEqual(page.jsErrors, []);
  await page.context().close();
});

test("screenshots: the CCH dashboard in en and zh-CN", async () => {
  for (const [lang, locale] of [["en", "en-US"], ["zh-CN", "zh-CN"]]) {
    const page = await openDashboard(locale);
    const file = path.join(SHOTS, `dashboard-cch-${lang}.png`);
    await page.screenshot({ path: file, fullPage: true });
    assert.ok(readFileSync(file).length > 10_000, `${file} is not blank`);
    // Nothing sticks out of the page sideways.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.equal(overflow, 0, `${lang}: the page scrolls sideways by ${overflow}px`);
    assert.deepEqual(page.jsErrors, []);
    await page.context().close();
  }
});

// Last: it adds a provider to the hub.
test("a provider's name is shown as text, never as markup", async () => {
  const name = `<img src=x onerror="window.__pwned=1">Evil & Co`;
  pg.psql(`INSERT INTO providers (name, url, key, provider_type) VALUES ('${name.replace(/'/g, "''")}', 'https://upstream.invalid', 'sk-x', 'claude')`);
  await serve.api("/api/refresh", { method: "POST", body: "{}" });
  const snap = await serve.api("/api/snapshot");
  const p = snap.providers.find((x) => x.name === name);
  assert.ok(p, "the new provider is in the snapshot");
  const page = await openDashboard();
  const cell = page.locator(`#providers tr[data-provider="${p.id}"] td[data-col="name"]`);
  assert.equal(await cell.textContent(), name);
  assert.equal(await page.locator("#providers img").count(), 0, "no element was made from the name");
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  await page.context().close();
});
