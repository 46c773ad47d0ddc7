// Tiny DOM helpers shared by the pages. Rule kept: text is always set as text (never innerHTML),
// so relay data (key names, replies) cannot inject markup; only the backend's chart SVG is parsed.

/** Create an element: h("td", {class: "num"}, "12", otherNode). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replace `el`'s children with `nodes` only when the rendered text differs (no flicker). */
export function swap(el, ...nodes) {
  const next = document.createElement("div");
  next.append(...nodes.flat().filter((n) => n != null));
  if (next.innerHTML === el.innerHTML) return;
  el.replaceChildren(...next.childNodes);
}

/** Set text only when it changed. */
export function text(el, value) {
  const v = String(value);
  if (el.textContent !== v) el.textContent = v;
}

/** A state badge: a shape glyph and a word, never colour alone. */
export function badge(kind, word) {
  const glyph = { ok: "●", warn: "▲", stale: "◷", bad: "■", offline: "✕", failed: "✖", firing: "▲", silenced: "◐", resolved: "✔", info: "◌", pending: "◌" }[kind] || "◌";
  return h("span", { class: `badge ${kind}` }, h("span", { "aria-hidden": "true" }, glyph), " ", word);
}
