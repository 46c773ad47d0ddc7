//! relaywatch-desktop: the tray app shell over relaywatch-core. Pure decisions (tray state,
//! menu text, pause spans, grouped notifications, arguments) live in their own modules and are
//! unit-tested without a display; `app` is the thin Tauri edge.

pub mod app;
pub mod args;
pub mod backend;
pub mod commands;
pub mod keychain;
pub mod labels;
pub mod menu;
pub mod notify;
pub mod pause;
pub mod sample;
pub mod tray_state;
