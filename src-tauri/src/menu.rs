//! The tray menu: its items built from the backend's facts (what is firing, the report's
//! channels, the pause choices, autostart), and the parts a redraw edits in place while the
//! menu's shape holds. Rule: text comes from `tray_state::menu_text`; nothing here decides.

use chrono::Utc;
use relaywatch_core::config::Lang;
use tauri::menu::{CheckMenuItem, IsMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::{AppHandle, Wry};
use tauri_plugin_autostart::ManagerExt;

use crate::app::Shell;
use crate::labels::{self, T};
use crate::pause::PauseChoice;
use crate::tray_state;

fn item(app: &AppHandle, id: &str, text: &str, enabled: bool) -> tauri::Result<MenuItem<Wry>> {
    MenuItem::with_id(app, id, text, enabled, None::<&str>)
}

/// What decides the menu's structure; while it holds, a redraw edits the items in place.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MenuShape {
    firing: usize,
    channels: Vec<String>,
    can_send: bool,
}

/// The items a redraw changes, kept so that an open menu is edited rather than replaced (a
/// panel keeps showing it, and its item ids stay the same).
pub struct MenuParts {
    pub(crate) shape: MenuShape,
    status: MenuItem<Wry>,
    cost: MenuItem<Wry>,
    tokens: MenuItem<Wry>,
    requests: MenuItem<Wry>,
    error_rate: MenuItem<Wry>,
    firing_items: Vec<MenuItem<Wry>>,
    last: MenuItem<Wry>,
    pause_items: Vec<(PauseChoice, MenuItem<Wry>)>,
    autostart: CheckMenuItem<Wry>,
    /// What the items show now.
    shown: tray_state::MenuText,
    paused: bool,
    autostart_on: bool,
}

impl MenuParts {
    /// Brings the kept items to `text`, the pause in force and the autostart setting, changing
    /// only what differs from what they show (each change is a main-thread call).
    pub(crate) fn update(&mut self, text: &tray_state::MenuText, paused: bool, autostart_on: bool) {
        let lines = [
            (&self.status, &self.shown.status, &text.status),
            (&self.cost, &self.shown.cost, &text.cost),
            (&self.tokens, &self.shown.tokens, &text.tokens),
            (&self.requests, &self.shown.requests, &text.requests),
            (&self.error_rate, &self.shown.error_rate, &text.error_rate),
            (&self.last, &self.shown.last_refresh, &text.last_refresh),
        ];
        for (item, was, line) in lines {
            if was != line {
                let _ = item.set_text(line);
            }
        }
        for ((item, was), line) in self
            .firing_items
            .iter()
            .zip(&self.shown.firing)
            .zip(&text.firing)
        {
            if was != line {
                let _ = item.set_text(line);
            }
        }
        if self.paused != paused {
            for (choice, item) in &self.pause_items {
                let _ = item.set_enabled((*choice == PauseChoice::Resume) == paused);
            }
        }
        if self.autostart_on != autostart_on {
            let _ = self.autostart.set_checked(autostart_on);
        }
        self.shown = text.clone();
        self.paused = paused;
        self.autostart_on = autostart_on;
    }
}

pub(crate) fn menu_shape(shell: &Shell, text: &tray_state::MenuText) -> MenuShape {
    MenuShape {
        firing: text.firing.len(),
        channels: shell.backend.report_channels(),
        can_send: shell.backend.engine_runs(),
    }
}

pub(crate) fn build_menu(app: &AppHandle, shell: &Shell) -> tauri::Result<(Menu<Wry>, MenuParts)> {
    let now = Utc::now();
    let facts = shell.backend.facts();
    let lang = shell.lang;
    let tx = |t: T| t.get(lang);
    let text = tray_state::menu_text(&facts, now, lang);
    let shape = menu_shape(shell, &text);
    let status = item(app, "status", &text.status, false)?;
    let cost = item(app, "cost", &text.cost, false)?;
    let tokens = item(app, "tokens", &text.tokens, false)?;
    let requests = item(app, "requests", &text.requests, false)?;
    let error_rate = item(app, "error_rate", &text.error_rate, false)?;
    let (firing, firing_items) = firing_submenu(app, &text, lang)?;
    let last = item(app, "last_refresh", &text.last_refresh, false)?;
    let open = item(app, "open:dashboard", tx(labels::OPEN_DASHBOARD), true)?;
    let report = report_submenu(app, &shape, lang)?;
    let paused = shell.backend.paused(now);
    let (pause, pause_items) = pause_submenu(app, lang, paused)?;
    let refresh = item(app, "refresh", tx(labels::REFRESH_NOW), true)?;
    let settings = item(app, "open:settings", tx(labels::SETTINGS), true)?;
    let autostart_on = app.autolaunch().is_enabled().unwrap_or(false);
    let autostart = CheckMenuItem::with_id(
        app,
        "autostart",
        tx(labels::START_AT_LOGIN),
        true,
        autostart_on,
        None::<&str>,
    )?;
    let quit = item(app, "quit", tx(labels::QUIT), true)?;
    let sep1 = PredefinedMenuItem::separator(app)?;
    let sep2 = PredefinedMenuItem::separator(app)?;
    let sep3 = PredefinedMenuItem::separator(app)?;
    let menu = Menu::with_items(
        app,
        &[
            &status,
            &sep1,
            &cost,
            &tokens,
            &requests,
            &error_rate,
            &firing,
            &last,
            &sep2,
            &open,
            &report,
            &pause,
            &refresh,
            &settings,
            &autostart,
            &sep3,
            &quit,
        ],
    )?;
    let parts = MenuParts {
        shape,
        status,
        cost,
        tokens,
        requests,
        error_rate,
        firing_items,
        last,
        pause_items,
        autostart,
        shown: text,
        paused,
        autostart_on,
    };
    Ok((menu, parts))
}

/// Items as the menu's item references.
fn item_refs<'a>(items: impl Iterator<Item = &'a MenuItem<Wry>>) -> Vec<&'a dyn IsMenuItem<Wry>> {
    items.map(|i| i as &dyn IsMenuItem<Wry>).collect()
}

/// "Firing (n) ▸": one line per firing alert (kept to update them), or "no alert".
fn firing_submenu(
    app: &AppHandle,
    text: &tray_state::MenuText,
    lang: Lang,
) -> tauri::Result<(Submenu<Wry>, Vec<MenuItem<Wry>>)> {
    let firing_items: Vec<MenuItem<Wry>> = text
        .firing
        .iter()
        .enumerate()
        .map(|(i, l)| item(app, &format!("firing:{i}"), l, false))
        .collect::<tauri::Result<_>>()?;
    let none = item(app, "firing:none", labels::NO_ALERT.get(lang), false)?;
    let refs = if firing_items.is_empty() {
        vec![&none as &dyn IsMenuItem<Wry>]
    } else {
        item_refs(firing_items.iter())
    };
    let title = labels::FIRING_MENU.fill(lang, &[&text.firing.len().to_string()]);
    let menu = Submenu::with_items(app, title, true, &refs)?;
    Ok((menu, firing_items))
}

/// "Send report now ▸": one item per report channel (enabled when the engine runs).
fn report_submenu(app: &AppHandle, shape: &MenuShape, lang: Lang) -> tauri::Result<Submenu<Wry>> {
    let items: Vec<MenuItem<Wry>> = if shape.channels.is_empty() {
        vec![item(
            app,
            "report:none",
            labels::NO_CHANNEL.get(lang),
            false,
        )?]
    } else {
        shape
            .channels
            .iter()
            .map(|c| item(app, &format!("report:{c}"), c, shape.can_send))
            .collect::<tauri::Result<_>>()?
    };
    Submenu::with_items(
        app,
        labels::SEND_REPORT.get(lang),
        true,
        &item_refs(items.iter()),
    )
}

/// The pause choices' items.
type PauseItems = Vec<(PauseChoice, MenuItem<Wry>)>;

/// "Pause alerts ▸": the pause choices, "Resume" enabled only while `paused`.
fn pause_submenu(
    app: &AppHandle,
    lang: Lang,
    paused: bool,
) -> tauri::Result<(Submenu<Wry>, PauseItems)> {
    let pause_items: PauseItems = PauseChoice::ALL
        .iter()
        .map(|c| {
            let enabled = (*c == PauseChoice::Resume) == paused;
            item(app, c.id(), c.label(lang), enabled).map(|i| (*c, i))
        })
        .collect::<tauri::Result<_>>()?;
    let refs = item_refs(pause_items.iter().map(|(_, i)| i));
    let menu = Submenu::with_items(app, labels::PAUSE_ALERTS.get(lang), true, &refs)?;
    Ok((menu, pause_items))
}
