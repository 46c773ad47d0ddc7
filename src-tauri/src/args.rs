//! The command line of relaywatch-desktop: `--open dashboard|settings`, `--config FILE`,
//! `--status-file FILE`, the requests a second launch hands to the running instance
//! (`--quit`, `--demo-alert`), and `--keychain-check`. Parsing is pure; an unknown flag or a
//! missing value is refused with the fix.

use std::path::PathBuf;

/// The two windows the app opens on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowKind {
    Dashboard,
    Settings,
}

impl WindowKind {
    /// The window's label (also its capability scope).
    pub fn label(self) -> &'static str {
        match self {
            WindowKind::Dashboard => "dashboard",
            WindowKind::Settings => "settings",
        }
    }

    /// The page under `ui/` it shows.
    pub fn page(self) -> &'static str {
        match self {
            WindowKind::Dashboard => "index.html",
            WindowKind::Settings => "settings.html",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            WindowKind::Dashboard => "relaywatch — dashboard",
            WindowKind::Settings => "relaywatch — settings",
        }
    }

    /// Initial size (logical pixels).
    pub fn size(self) -> (f64, f64) {
        match self {
            WindowKind::Dashboard => (1100.0, 760.0),
            WindowKind::Settings => (860.0, 700.0),
        }
    }

    pub fn parse(s: &str) -> Option<WindowKind> {
        match s {
            "dashboard" => Some(WindowKind::Dashboard),
            "settings" => Some(WindowKind::Settings),
            _ => None,
        }
    }
}

/// What one launch asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Args {
    /// Open this window at start (or, for a second launch, in the running instance).
    pub open: Option<WindowKind>,
    /// Read this config file instead of the default one.
    pub config: Option<PathBuf>,
    /// Keep a small JSON status file here (tray state, windows, notifications) for scripts.
    pub status_file: Option<PathBuf>,
    /// Ask the running instance to quit.
    pub quit: bool,
    /// Ask the running instance to show a sample alert through the notification path.
    pub demo_alert: bool,
    /// Store, read back and delete a keychain entry, print the backend, and exit.
    pub keychain_check: bool,
}

pub const USAGE: &str = "usage: relaywatch-desktop [--open dashboard|settings] [--config FILE] [--status-file FILE] [--quit] [--demo-alert] [--keychain-check]";

/// Parses the arguments after the program name.
pub fn parse<S: AsRef<str>>(args: &[S]) -> Result<Args, String> {
    let mut out = Args::default();
    let mut it = args.iter().map(|a| a.as_ref());
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (a, None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next().map(str::to_string))
                .ok_or_else(|| format!("`{name}` needs a value\n{USAGE}"))
        };
        match flag {
            "--open" => {
                let v = value("--open")?;
                out.open = Some(WindowKind::parse(&v).ok_or_else(|| {
                    format!("`--open {v}`: must be `dashboard` or `settings`\n{USAGE}")
                })?);
            }
            "--config" => out.config = Some(PathBuf::from(value("--config")?)),
            "--status-file" => out.status_file = Some(PathBuf::from(value("--status-file")?)),
            "--quit" => out.quit = true,
            "--demo-alert" => out.demo_alert = true,
            "--keychain-check" => out.keychain_check = true,
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_open_config_and_requests() {
        let a = parse(&["--open", "settings", "--config=/tmp/r.toml", "--quit"]).unwrap();
        assert_eq!(a.open, Some(WindowKind::Settings));
        assert_eq!(a.config, Some(PathBuf::from("/tmp/r.toml")));
        assert!(a.quit);
        assert!(!a.demo_alert);
        assert_eq!(parse::<&str>(&[]).unwrap(), Args::default());
    }

    #[test]
    fn refuses_unknown_flags_and_bad_windows_with_the_fix() {
        let e = parse(&["--open", "charts"]).unwrap_err();
        assert!(e.contains("must be `dashboard` or `settings`"), "{e}");
        let e = parse(&["--config"]).unwrap_err();
        assert!(e.contains("`--config` needs a value"), "{e}");
        let e = parse(&["--verbose"]).unwrap_err();
        assert!(e.contains("unknown argument `--verbose`"), "{e}");
    }

    #[test]
    fn windows_map_to_pages_and_labels() {
        assert_eq!(WindowKind::Dashboard.page(), "index.html");
        assert_eq!(WindowKind::Settings.label(), "settings");
    }
}
