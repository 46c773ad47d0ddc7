// The transport to the relaywatch backend: Tauri `invoke` inside the desktop app, else HTTP
// `fetch` to `relaywatch serve` (ui/API.md). Rule kept: both paths take one method name and one
// JSON argument object and return the same JSON; the bearer token is read once from the URL's
// `#token=…`, kept in sessionStorage and removed from the visible URL.

const TOKEN_KEY = "relaywatch.token";

/** An error from the backend: `kind`, `message`, and `fields` ([{field, value, fix}]). */
export class ApiError extends Error {
  constructor(kind, message, fields = [], status = 0) {
    super(message);
    this.kind = kind;
    this.fields = fields;
    this.status = status;
  }
}

/** Take the token from `location.hash` (once), keep it, and clean the URL. */
export function adoptToken(loc = window.location, store = window.sessionStorage) {
  const m = /(?:^#|&)token=([^&]+)/.exec(loc.hash || "");
  if (m) {
    store.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    const rest = loc.hash.replace(/(^#|&)token=[^&]+/, "$1").replace(/^#&?$/, "");
    history.replaceState(null, "", loc.pathname + loc.search + (rest && rest !== "#" ? rest : ""));
  }
  return store.getItem(TOKEN_KEY);
}

/** Inside the desktop app (Tauri), not a browser. */
export const inApp = () => !!(window.__TAURI__ && window.__TAURI__.core);

const tauri = () => window.__TAURI__ && window.__TAURI__.core && window.__TAURI__.core.invoke;

const enc = encodeURIComponent;

// Method name → HTTP request. The Tauri command has the same name (snake_case) and arguments.
const ROUTES = {
  status: () => ["GET", "/api/status"],
  snapshot: () => ["GET", "/api/snapshot"],
  refresh: () => ["POST", "/api/refresh"],
  chart_svg: (a) => ["GET", `/api/charts/${enc(a.kind)}.svg?lang=${enc(a.lang || "en")}&theme=${enc(a.theme || "light")}`, null, "text"],
  get_config: () => ["GET", "/api/config"],
  save_config: (a) => ["PUT", "/api/config", { settings: a.settings }],
  add_channel: (a) => ["POST", "/api/channels", { channel: a.channel, secrets: a.secrets || {} }],
  update_channel: (a) => ["PUT", `/api/channels/${enc(a.name)}`, { channel: a.channel, secrets: a.secrets || {} }],
  remove_channel: (a) => ["DELETE", `/api/channels/${enc(a.name)}`],
  test_channel: (a) => ["POST", `/api/channels/${enc(a.name)}/test?lang=${enc(a.lang || "en")}`],
  history: (a) => ["GET", `/api/history?limit=${enc(a.limit || 20)}${a.channel ? "&channel=" + enc(a.channel) : ""}`],
  retry_dead: (a) => ["POST", `/api/dead/${enc(a.id)}/retry`],
  alerts: () => ["GET", "/api/alerts"],
  silence: (a) => ["POST", "/api/silences", { rule: a.rule ?? null, subject: a.subject ?? null, duration: a.duration, reason: a.reason || "" }],
  schedules: () => ["GET", "/api/schedules"],
  preview_schedule: (a) => ["POST", "/api/schedules/preview", { cron: a.cron, tz: a.tz, lang: a.lang }],
  test_source: (a) => ["POST", "/api/source/test", a.redis_url ? { redis_url: a.redis_url } : {}],
  dry_run: (a) => ["POST", `/api/rules/${enc(a.rule)}/dry-run`],
  replay: (a) => ["POST", `/api/rules/${enc(a.rule)}/replay?from=${enc(a.from || "24h")}&to=${enc(a.to || "now")}`],
};

/** Call backend method `method` with arguments `args`; resolves to its JSON (or text for SVG). */
export async function call(method, args = {}) {
  const invoke = tauri();
  if (invoke) {
    try {
      return await invoke(method, args);
    } catch (e) {
      const err = (e && e.error) || e || {};
      throw new ApiError(err.kind || "error", err.message || String(e), err.fields || []);
    }
  }
  const route = ROUTES[method];
  if (!route) throw new ApiError("invalid_input", `unknown method ${method}`);
  const [verb, path, body, as] = route(args);
  const headers = {};
  const token = adoptToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined && body !== null) headers["Content-Type"] = "application/json";
  else if (verb !== "GET") headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, {
      method: verb,
      headers,
      body: body != null ? JSON.stringify(body) : verb !== "GET" ? "{}" : undefined,
      cache: "no-store",
    });
  } catch (e) {
    throw new ApiError("network", String(e.message || e));
  }
  if (!res.ok) {
    let err = {};
    try {
      err = (await res.json()).error || {};
    } catch {
      /* not JSON */
    }
    throw new ApiError(err.kind || `http_${res.status}`, err.message || `HTTP ${res.status}`, err.fields || [], res.status);
  }
  if (as === "text") return res.text();
  return res.json();
}
