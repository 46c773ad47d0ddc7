// Numbers as the relay and the reports show them (mirrors crates/relaywatch-core/src/render/format.rs
// and pricing/format.rs): costs `$x.xx` / `$x.xxxx` / `$x.xxxxxx`, tokens `1.23M` / `4.56K`,
// counts with thousands separators. Pure: no DOM, no clock.

/** Tokens as CRS's UI shows them: `1.23B`, `4.56M`, `7.89K`, or the plain number. */
export function tokens(n) {
  if (n == null || Number.isNaN(n)) return "–";
  if (n >= 1e9) return (n / 1e9).toFixed(2) + "B";
  if (n >= 1e6) return (n / 1e6).toFixed(2) + "M";
  if (n >= 1e3) return (n / 1e3).toFixed(2) + "K";
  return String(Math.round(n));
}

/** A count with thousands separators: `12,345`. */
export function count(n) {
  if (n == null || Number.isNaN(n)) return "–";
  const s = String(Math.round(n));
  return s.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** CRS's formatCost: `$x.xx` from $1, `$x.xxxx` from $0.001, else six decimals. */
export function cost(usd) {
  if (usd == null) return "–";
  const d = usd >= 1 ? 2 : usd >= 0.001 ? 4 : 6;
  const s = Object.is(usd, -0) ? (0).toFixed(d) : usd.toFixed(d);
  return "$" + s;
}

/** A ratio as a percentage with one decimal: `83.4%`. */
export function percent(ratio) {
  if (ratio == null || Number.isNaN(ratio)) return "–";
  return (ratio * 100).toFixed(1) + "%";
}

/** A rate per minute, one decimal under 100, else whole. */
export function rate(x) {
  if (x == null || Number.isNaN(x)) return "–";
  return x < 100 ? x.toFixed(1) : count(x);
}

/** The change of `now` against `before` as a signed percentage, or null when unknown. */
export function change(now, before) {
  if (now == null || before == null || before === 0) return null;
  return (now - before) / before;
}

/** A signed change: `+12.5%` / `−3.0%`. */
export function signedPercent(ratio) {
  if (ratio == null) return "";
  const p = (Math.abs(ratio) * 100).toFixed(1) + "%";
  return (ratio >= 0 ? "+" : "−") + p;
}

/** A duration in seconds as `42 s`, `12 min`, `3 h`, `2 d`. */
export function ago(seconds) {
  if (seconds == null) return "–";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return s + " s";
  if (s < 3600) return Math.round(s / 60) + " min";
  if (s < 86400) return Math.round(s / 3600) + " h";
  return Math.round(s / 86400) + " d";
}

/** A timestamp (ISO text) as local `YYYY-MM-DD HH:MM`, or `HH:MM:SS` when `short`. */
export function time(iso, short = false) {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const p = (n) => String(n).padStart(2, "0");
  const hm = `${p(d.getHours())}:${p(d.getMinutes())}`;
  if (short) return `${hm}:${p(d.getSeconds())}`;
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${hm}`;
}

/** A redis URL with its credentials masked: `redis://••••@host:6379/0`. */
export function maskUrl(url) {
  if (!url) return "";
  return String(url).replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/]*)@/i, "$1••••@");
}
