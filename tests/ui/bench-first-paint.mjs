// A figure, not a test: the dashboard's first paint in headless Chromium against `relaywatch serve`
// with a large CRS dataset (default 10,000 API keys) in Redis. Prints first contentful paint (the
// skeleton), the moment the snapshot's numbers are on screen, and the moment every panel and chart
// is filled; cold (first load, the server's snapshot cache empty) and warm (median of 5 reloads).
//
// node tests/ui/bench-first-paint.mjs [KEYS] [DAYS] [MODELS]    (defaults 10000 7 5)

import { stack } from "./harness.mjs";

const [keys = "10000", days = "7", models = "5"] = process.argv.slice(2);
const t0 = Date.now();
const s = await stack("bench", { seedArgs: ["bench", keys, days, models] });
console.log(`${s.seeded} (stack ready in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);

async function measure() {
  const ctx = await s.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(`${s.serve.base}/index.html#token=${s.serve.token}`);
  await page.waitForSelector("body[data-ready='1']", { timeout: 120_000 });
  const m = await page.evaluate(() => {
    const at = (n) => performance.getEntriesByName(n)[0]?.startTime ?? null;
    return { fcp: at("first-contentful-paint"), data: at("relaywatch:data"), ready: at("relaywatch:ready") };
  });
  await ctx.close();
  return m;
}

const cold = await measure();
const warm = [];
for (let i = 0; i < 5; i++) warm.push(await measure());
const median = (k) => warm.map((m) => m[k]).sort((a, b) => a - b)[2];
const ms = (v) => (v == null ? "n/a" : `${v.toFixed(0)} ms`);
console.log(`first paint (skeleton, FCP): cold ${ms(cold.fcp)}, warm median ${ms(median("fcp"))}`);
console.log(`numbers on screen (snapshot rendered): cold ${ms(cold.data)}, warm median ${ms(median("data"))}  (target <= 300 ms)`);
console.log(`all panels and charts filled: cold ${ms(cold.ready)}, warm median ${ms(median("ready"))}`);
await s.close();
