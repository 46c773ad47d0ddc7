// Test harness for the web UI tests: a real redis-server on a free loopback port, CRS data seeded
// by the Rust testkit (examples/seed_ui), a throw-away PostgreSQL for Claude Code Hub data
// (examples/seed_cch_ui), `relaywatch serve` (target/debug/relaywatch) on a free port, a loopback
// webhook receiver, and Debian's headless Chromium through playwright-core.
// Rule kept: everything binds 127.0.0.1 and is stopped by the test that started it.

import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, mkdirSync, readdirSync, existsSync, chownSync, rmSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const TARGET = process.env.CARGO_TARGET_DIR || path.join(ROOT, "target");
export const BIN = path.join(TARGET, "debug", "relaywatch");
export const SEEDER = path.join(TARGET, "debug", "examples", "seed_ui");
export const SEEDER_CCH = path.join(TARGET, "debug", "examples", "seed_cch_ui");
export const PG_ROOT = "/usr/lib/postgresql";
export const SHOTS = path.join(TARGET, "ui-screenshots");
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Wait until `port` accepts connections (bounded: about 20 s). */
async function waitPort(port, proc, what) {
  for (let i = 0; i < 400; i++) {
    if (proc.exitCode != null) throw new Error(`${what} exited with ${proc.exitCode}`);
    const ok = await new Promise((r) => {
      const c = net.connect(port, "127.0.0.1");
      c.once("connect", () => (c.destroy(), r(true)));
      c.once("error", () => r(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`${what} did not listen on ${port}`);
}

/** A temporary folder under the OS temp dir. */
export function tempDir(tag) {
  return mkdtempSync(path.join(os.tmpdir(), `relaywatch-ui-${tag}-`));
}

/** Start a throw-away redis-server; returns {url, port, stop}. */
export async function startRedis() {
  const port = await freePort();
  const dir = tempDir("redis");
  const proc = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], { stdio: "ignore" });
  await waitPort(port, proc, "redis-server");
  const stop = () => new Promise((r) => {
    if (proc.exitCode != null || proc.signalCode != null) return r();
    proc.once("exit", r);
    proc.kill("SIGTERM");
  });
  return { url: `redis://127.0.0.1:${port}/0`, port, stop };
}

/** Debian's PostgreSQL bin dir of the highest installed version (with initdb and pg_ctl). */
function pgBinDir() {
  const versions = (existsSync(PG_ROOT) ? readdirSync(PG_ROOT) : [])
    .filter((v) => /^\d+(\.\d+)*$/.test(v) && existsSync(path.join(PG_ROOT, v, "bin", "initdb")) && existsSync(path.join(PG_ROOT, v, "bin", "pg_ctl")))
    .sort((a, b) => parseFloat(a) - parseFloat(b));
  if (!versions.length) throw new Error(`no ${PG_ROOT}/<version>/bin/initdb: install Debian's postgresql package (scripts/setup --deps)`);
  return path.join(PG_ROOT, versions.at(-1), "bin");
}

/** uid/gid of `nobody` when this process is root (PostgreSQL refuses to run as root), else null. */
function pgRunAs() {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return null;
  const id = (flag) => {
    try { return Number(execFileSync("id", [flag, "nobody"], { encoding: "utf8" }).trim()); } catch { return 65534; }
  };
  return { uid: id("-u"), gid: id("-g") };
}

/** Start a throw-away PostgreSQL cluster (initdb + pg_ctl, user `postgres`, trust auth) on a free
 * loopback port, in its own temp dir; as `nobody` when root. Returns {url, port, dir, psql, stop}.
 * `stop` (`pg_ctl stop -m immediate`, then the dir is removed) is idempotent and also runs when
 * the process exits without calling it. */
export async function startPostgres() {
  const bin = pgBinDir();
  const runAs = pgRunAs();
  const dir = tempDir("pg");
  if (runAs) chownSync(dir, runAs.uid, runAs.gid);
  const env = { ...process.env, LC_ALL: "C" };
  delete env.PGDATA; delete env.PGPORT; delete env.PGHOST;
  const run = (program, args) => {
    const [cmd, argv] = runAs ? ["runuser", ["-u", "nobody", "--", path.join(bin, program), ...args]] : [path.join(bin, program), args];
    return execFileSync(cmd, argv, { cwd: dir, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  };
  const data = path.join(dir, "data");
  let running = false;
  const stopSync = () => {
    if (running) {
      try { run("pg_ctl", ["-D", data, "stop", "-m", "immediate", "-w"]); } catch { /* already gone */ }
      running = false;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", stopSync);
  const watchdog = pgWatchdog(bin, dir, runAs);
  try {
    run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
    let port;
    let lastError = "";
    for (let attempt = 0; attempt < 5 && !running; attempt++) {
      port = await freePort();
      const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
      try {
        run("pg_ctl", ["-D", data, "-o", opts, "-w", "-t", "60", "-l", path.join(dir, "log"), "start"]);
        running = true;
      } catch (e) {
        try { run("pg_ctl", ["-D", data, "stop", "-m", "immediate", "-w"]); } catch { /* not started */ }
        const log = existsSync(path.join(dir, "log")) ? readFileSync(path.join(dir, "log"), "utf8").trim().split("\n").slice(-5).join(" | ") : "";
        lastError = `${e.stderr || e.message} | log: ${log}`;
      }
    }
    if (!running) throw new Error(`could not start PostgreSQL: ${lastError}`);
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    return {
      url, port, dir,
      /** Run one SQL statement with psql (as this process's user, over TCP). */
      psql: (sql) => execFileSync(path.join(bin, "psql"), ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql], { env, encoding: "utf8" }),
      stop: async () => {
        stopSync();
        process.removeListener("exit", stopSync);
        await watchdog.finish();
      },
    };
  } catch (e) {
    stopSync();
    process.removeListener("exit", stopSync);
    await watchdog.finish();
    throw e;
  }
}

/** The last resort, as the Rust testkit's: a detached `sh` reading a pipe only this process writes;
 * when the process ends however it ends (a failed test, Ctrl-C, SIGKILL), the pipe closes and the
 * watchdog stops the cluster (`pg_ctl stop -m immediate`) and removes its dir. */
function pgWatchdog(bin, dir, runAs) {
  const script = `trap '' INT QUIT HUP TERM; while read -r _; do :; done; "$0" -D "$1/data" stop -m immediate -w >/dev/null 2>&1; rm -rf "$1"`;
  const argv = ["-c", script, path.join(bin, "pg_ctl"), dir];
  const proc = runAs
    ? spawn("runuser", ["-u", "nobody", "--", "sh", ...argv], { cwd: dir, stdio: ["pipe", "ignore", "ignore"], detached: true })
    : spawn("sh", argv, { cwd: dir, stdio: ["pipe", "ignore", "ignore"], detached: true });
  proc.unref();
  proc.stdin.unref?.();
  proc.stdin.on("error", () => {});
  const exited = new Promise((r) => proc.once("exit", r));
  return {
    finish: () => {
      // Held again while it finishes, or an otherwise idle process would exit mid-await.
      if (proc.exitCode == null && proc.signalCode == null) {
        proc.ref();
        proc.stdin.end();
      }
      return exited;
    },
  };
}

/** Seed CRS data with the testkit's seeder (`args` e.g. ["bench", "10000"]). */
export function seed(url, args = []) {
  return execFileSync(SEEDER, [url, ...args], { encoding: "utf8" }).trim();
}

/** A loopback webhook receiver answering like Slack (`ok`); records every request body. Its
 * `reply` may be changed while it runs (e.g. from a failure to `200 ok`). */
export async function startReceiver(reply = { status: 200, body: "ok" }) {
  const requests = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(reply.status, { "Content-Type": "text/plain" });
      res.end(reply.body);
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}`, port, requests, reply, stop: () => new Promise((r) => server.close(r)) };
}

/** The test config: the seeded Redis as source, loopback allowed for test sends. */
export function writeConfig(dir, redisUrl, extra = "") {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "relaywatch.toml");
  writeFileSync(
    file,
    `[source]\nkind = "crs"\nredis_url = "${redisUrl}"\ntimezone_offset_hours = 0\n\n` +
      `[network]\nallow = ["127.0.0.1/32"]\nallow_http = true\n\n` +
      `[schedules.daily]\ncron = "0 9 * * *"\ntz = "UTC"\nkind = "report"\n` +
      extra,
  );
  return file;
}

/** Start `relaywatch serve`; resolves once it printed its `#token=` URL. Returns {base, url, token, config, stop, output}. */
export async function startServe(config, env = {}, args = []) {
  const port = await freePort();
  const proc = spawn(BIN, ["serve", "--config", config, "--bind", `127.0.0.1:${port}`, "--ui", path.join(ROOT, "ui"), ...args], {
    env: { ...process.env, RELAYWATCH_LOG: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const found = new Promise((resolve, reject) => {
    const look = (chunk) => {
      output += chunk;
      const m = /(http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]+)/.exec(output);
      if (m) resolve(m[1]);
    };
    proc.stdout.on("data", look);
    proc.stderr.on("data", look);
    proc.once("exit", (code) => reject(new Error(`relaywatch serve exited with ${code}:\n${output}`)));
    setTimeout(() => reject(new Error(`relaywatch serve printed no URL in 30 s:\n${output}`)), 30_000);
  });
  const url = await found;
  await waitPort(port, proc, "relaywatch serve");
  const token = /#token=(.+)$/.exec(url)[1];
  const base = `http://127.0.0.1:${port}`;
  return {
    base,
    url,
    token,
    config,
    output: () => output,
    api: async (p, init = {}) => {
      const res = await fetch(base + p, { ...init, headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", ...(init.headers || {}) } });
      if (!res.ok) throw new Error(`${p}: HTTP ${res.status} ${await res.text()}`);
      return res.headers.get("content-type")?.includes("json") ? res.json() : res.text();
    },
    stop: () => new Promise((r) => {
      if (proc.exitCode != null || proc.signalCode != null) return r();
      proc.once("exit", r);
      proc.kill("SIGTERM");
    }),
  };
}

/** Headless Chromium (Debian's), with a fixed locale so navigator.language is known. */
export function launch() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
}

/** A page with the given language, colour scheme and viewport. */
export async function newPage(browser, { locale = "en-US", colorScheme = "light", width = 1280, height = 900 } = {}) {
  const ctx = await browser.newContext({ locale, colorScheme, viewport: { width, height } });
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.jsErrors = errors;
  return page;
}

/** Everything one test needs: redis (seeded), config, serve, browser. */
export async function stack(tag, { seedArgs = [], extraConfig = "", serveArgs = [], env = {} } = {}) {
  const redis = await startRedis();
  const seeded = seed(redis.url, seedArgs);
  const dir = tempDir(tag);
  const config = writeConfig(dir, redis.url, extraConfig);
  const serve = await startServe(config, env, serveArgs);
  const browser = await launch();
  return {
    redis, serve, browser, dir, config, seeded,
    async close() {
      await browser.close();
      await serve.stop();
      await redis.stop();
    },
  };
}
