// Display preferences kept by this browser or app window (language, theme, desktop notification
// choices). Rule kept: one localStorage key per preference under `relaywatch.`, and the theme is
// applied to <html data-theme> before first paint so a dark page never flashes light.

const PREFIX = "relaywatch.";

/** The stored preference `name`, or null. */
export function pref(name) {
  try {
    return window.localStorage.getItem(PREFIX + name);
  } catch {
    return null;
  }
}

/** Store preference `name` (null removes it). */
export function setPref(name, value) {
  try {
    if (value == null || value === "") window.localStorage.removeItem(PREFIX + name);
    else window.localStorage.setItem(PREFIX + name, value);
  } catch {
    /* storage disabled: the choice lasts for this page only */
  }
}

/** Apply the theme preference: `light`, `dark`, or the system's. */
export function applyTheme() {
  const theme = pref("theme");
  if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}

/** The theme in effect now: `light` or `dark`. */
export function effectiveTheme() {
  const theme = pref("theme");
  if (theme === "light" || theme === "dark") return theme;
  return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}
