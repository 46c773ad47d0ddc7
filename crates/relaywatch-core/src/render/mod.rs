//! Rendering of snapshots: charts (PNG and SVG) and the report text.

pub mod bundle;
mod canvas;
pub mod charts;
pub mod clean;
pub mod fonts;
pub mod format;
pub mod i18n;
pub mod markdown;
pub mod message;
pub mod messages;
pub mod text;
pub mod theme;
