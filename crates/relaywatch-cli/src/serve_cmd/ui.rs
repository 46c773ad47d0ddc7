//! The web UI's files: the copy of `ui/` built into the binary, or a folder (`--ui`,
//! `RELAYWATCH_UI`). Rule: nothing outside the UI is served, through `..` or a symlink.

use super::*;

/// The web UI as it was in `ui/` when this binary was built (in every profile: the workspace
/// enables rust-embed's `debug-embed`), so an installed binary serves it from anywhere.
#[derive(rust_embed::Embed)]
#[folder = "../../ui/"]
pub(super) struct EmbeddedUi;

/// Where the UI's files come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum UiSource {
    /// The copy compiled into the binary.
    Embedded,
    /// A folder (`--ui`, `RELAYWATCH_UI`), canonical (symlinks resolved), so files can be checked
    /// to stay inside.
    Folder(PathBuf),
}

pub(super) fn content_type(p: &Path) -> &'static str {
    match p.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "json" => "application/json",
        "md" => "text/markdown; charset=utf-8",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// The file under `root` that `url_path` names; `None` for anything that climbs out.
pub fn ui_file(root: &Path, url_path: &str) -> Option<PathBuf> {
    let rel = url_path.trim_start_matches('/');
    let rel = if rel.is_empty() { "index.html" } else { rel };
    let p = Path::new(rel);
    if p.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    Some(root.join(p))
}

/// The file `url_path` names, with every symlink resolved, when it is still inside `root`
/// (canonical); `None` for anything missing or outside (`..`, or a link that points out).
pub async fn ui_file_inside(root: &Path, url_path: &str) -> Option<PathBuf> {
    let path = ui_file(root, url_path)?;
    let real = tokio::fs::canonicalize(&path).await.ok()?;
    real.starts_with(root).then_some(real)
}

/// The embedded file `url_path` names (same path rules as a folder: no `..`, `/` is
/// `index.html`), with its name for the content type.
pub(super) fn embedded_file(url_path: &str) -> Option<(PathBuf, Bytes)> {
    let rel = ui_file(Path::new(""), url_path)?;
    let file = EmbeddedUi::get(rel.to_str()?)?;
    let bytes = match file.data {
        std::borrow::Cow::Borrowed(b) => Bytes::from_static(b),
        std::borrow::Cow::Owned(v) => Bytes::from(v),
    };
    Some((rel, bytes))
}

/// The file `url_path` names, from wherever the UI comes from.
pub(super) async fn ui_bytes(ui: &UiSource, url_path: &str) -> Option<(PathBuf, Bytes)> {
    match ui {
        UiSource::Embedded => embedded_file(url_path),
        UiSource::Folder(root) => {
            let path = ui_file_inside(root, url_path).await?;
            let bytes = tokio::fs::read(&path).await.ok()?;
            Some((path, Bytes::from(bytes)))
        }
    }
}

pub(super) async fn static_file(State(s): State<Shared>, req: Request) -> Response {
    match ui_bytes(&s.ui, req.uri().path()).await {
        Some((path, bytes)) => (
            [
                (header::CONTENT_TYPE, content_type(&path)),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `--ui DIR` (clap also reads `$RELAYWATCH_UI` for `serve`; `run --serve` reads it here), else
/// the embedded copy. A folder that cannot be opened is an error naming the option and the fix.
pub(super) fn find_ui(explicit: Option<PathBuf>) -> Result<UiSource> {
    let Some(dir) = explicit.or_else(|| {
        std::env::var_os("RELAYWATCH_UI")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    }) else {
        return Ok(UiSource::Embedded);
    };
    let Some(real) = std::fs::canonicalize(&dir).ok().filter(|p| p.is_dir()) else {
        return Err(relaywatch_core::Error::Config {
            source_name: Some("the command line".into()),
            errors: vec![relaywatch_core::error::FieldError {
                field: "--ui (or RELAYWATCH_UI)".into(),
                value: format!("`{}`", dir.display()),
                fix: "not a folder: give the web UI folder (the one with index.html), or leave \
                      both unset to serve the UI built into relaywatch"
                    .into(),
            }],
        }
        .into());
    };
    if !real.join("index.html").is_file() {
        eprintln!(
            "relaywatch: the web UI folder {} has no index.html",
            real.display()
        );
    }
    Ok(UiSource::Folder(real))
}
