//! Fonts for charts: the bundled DejaVu faces and one system CJK face. Rule: each char is drawn
//! with the first font of the chain [DejaVu, system CJK] that has its glyph; the CJK face is found
//! and read once, only when a char needs it, and a missing one warns once and never fails.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ab_glyph::{Font, FontArc, FontRef, FontVec, GlyphId};

/// Environment variable naming a CJK font file (`.ttf`, `.otf`, `.ttc`, `.otc`) to use first.
pub const CJK_FONT_ENV: &str = "RELAYWATCH_CJK_FONT";

/// The font-family list SVG output names: the browser falls back per glyph as we do.
pub const SVG_FONT_FAMILY: &str = "'DejaVu Sans', 'Noto Sans CJK SC', 'Noto Sans SC', \
     'Source Han Sans SC', 'WenQuanYi Zen Hei', 'WenQuanYi Micro Hei', 'Droid Sans Fallback', \
     'Microsoft YaHei', 'PingFang SC', sans-serif";

static DEJAVU_REGULAR: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans.ttf");
static DEJAVU_BOLD: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans-Bold.ttf");

/// Which font of the chain draws a char.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FontChoice {
    /// Bundled DejaVu Sans (its bold face for titles).
    DejaVu { bold: bool },
    /// The system CJK face (its bold sibling for titles when one exists).
    Cjk { bold: bool },
    /// No font of the chain has the glyph: DejaVu draws its notdef box.
    Notdef,
}

impl FontChoice {
    /// Whether the chosen font really has a glyph for `c` (not the notdef box).
    pub fn has_glyph(self, c: char) -> bool {
        match self {
            FontChoice::Notdef => false,
            other => face_of(other).is_some_and(|f| f.glyph_id(c) != GlyphId(0)),
        }
    }
}

/// A system CJK font that was found and loaded.
pub struct CjkFont {
    /// The file it was read from.
    pub path: PathBuf,
    /// The face index inside a collection (0 for a plain font file).
    pub index: u32,
    /// The family name from the face's name table, e.g. "Noto Sans CJK SC".
    pub family: String,
    regular: FontArc,
    bold: Option<FontArc>,
}

impl std::fmt::Debug for CjkFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CjkFont")
            .field("path", &self.path)
            .field("index", &self.index)
            .field("family", &self.family)
            .field("has_bold", &self.bold.is_some())
            .finish()
    }
}

fn dejavu(bold: bool) -> &'static FontArc {
    static REGULAR: OnceLock<FontArc> = OnceLock::new();
    static BOLD: OnceLock<FontArc> = OnceLock::new();
    let (cell, data) = if bold {
        (&BOLD, DEJAVU_BOLD)
    } else {
        (&REGULAR, DEJAVU_REGULAR)
    };
    cell.get_or_init(|| {
        FontArc::new(FontRef::try_from_slice(data).expect("bundled DejaVu font is valid"))
    })
}

/// The primary (Latin) font: its vertical metrics lay out every line of text.
pub(crate) fn primary(bold: bool) -> &'static FontArc {
    dejavu(bold)
}

/// The system CJK font, searched for and read on first call; `None` (after one warning) when
/// there is none.
pub fn cjk_font() -> Option<&'static CjkFont> {
    static CJK: OnceLock<Option<CjkFont>> = OnceLock::new();
    CJK.get_or_init(|| {
        let found = find_cjk_font();
        match &found {
            Some(f) => tracing::debug!(
                path = %f.path.display(),
                index = f.index,
                family = %f.family,
                "using system CJK font for charts"
            ),
            None => tracing::warn!(
                "no CJK font found (install fonts-noto-cjk or set {CJK_FONT_ENV}); \
                 CJK text in charts is drawn as boxes"
            ),
        }
        found
    })
    .as_ref()
}

fn face_of(choice: FontChoice) -> Option<&'static FontArc> {
    match choice {
        FontChoice::DejaVu { bold } => Some(dejavu(bold)),
        FontChoice::Cjk { bold } => {
            let cjk = cjk_font()?;
            Some(if bold {
                cjk.bold.as_ref().unwrap_or(&cjk.regular)
            } else {
                &cjk.regular
            })
        }
        FontChoice::Notdef => Some(dejavu(false)),
    }
}

/// Which font draws `c` in regular weight.
pub fn font_for_char(c: char) -> FontChoice {
    font_for_char_weight(c, false)
}

/// Which font draws `c`, in bold (titles) or regular weight.
pub fn font_for_char_weight(c: char, bold: bool) -> FontChoice {
    resolve(c, bold).1
}

/// Which font draws each char of `text`.
pub fn fonts_for_text(text: &str, bold: bool) -> Vec<(char, FontChoice)> {
    text.chars()
        .map(|c| (c, font_for_char_weight(c, bold)))
        .collect()
}

/// The font and glyph that draw `c`: the first font of the chain with the glyph, else DejaVu's
/// notdef. Controls (tabs, newlines) map to DejaVu without counting as missing.
pub(crate) fn resolve(c: char, bold: bool) -> (&'static FontArc, FontChoice, GlyphId) {
    let latin = dejavu(bold);
    let id = latin.glyph_id(c);
    if id != GlyphId(0) || c.is_control() {
        return (latin, FontChoice::DejaVu { bold }, id);
    }
    if let Some(cjk) = cjk_font() {
        let (face, is_bold) = match (&cjk.bold, bold) {
            (Some(b), true) => (b, true),
            _ => (&cjk.regular, false),
        };
        let id = face.glyph_id(c);
        if id != GlyphId(0) {
            return (face, FontChoice::Cjk { bold: is_bold }, id);
        }
        if is_bold {
            let id = cjk.regular.glyph_id(c);
            if id != GlyphId(0) {
                return (&cjk.regular, FontChoice::Cjk { bold: false }, id);
            }
        }
    }
    (dejavu(false), FontChoice::Notdef, GlyphId(0))
}

// ---------------------------------------------------------------------------------------------
// Finding the system CJK font.

/// File names of CJK fonts, best first; matched case-insensitively against whole file names.
const KNOWN_NAMES: &[&str] = &[
    "notosanscjk-regular.ttc",
    "notosanscjksc-regular.otf",
    "notosanssc-regular.otf",
    "notosanssc-regular.ttf",
    "sourcehansanssc-regular.otf",
    "sourcehansans-regular.ttc",
    "wqy-zenhei.ttc",
    "wqy-microhei.ttc",
    "droidsansfallbackfull.ttf",
    "droidsansfallback.ttf",
];

/// Where Debian and other distributions put the best of those, checked before any directory walk.
const KNOWN_PATHS: &[&str] = &[
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
];

fn font_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![
        PathBuf::from("/usr/share/fonts"),
        PathBuf::from("/usr/local/share/fonts"),
    ];
    if let Some(home) = env::var_os("HOME") {
        let home = PathBuf::from(home);
        dirs.push(home.join(".local/share/fonts"));
        dirs.push(home.join(".fonts"));
    }
    dirs
}

fn find_cjk_font() -> Option<CjkFont> {
    if let Some(path) = env::var_os(CJK_FONT_ENV).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        match load_cjk(&path) {
            Some(f) => return Some(f),
            None => tracing::warn!(
                path = %path.display(),
                "{CJK_FONT_ENV} does not name a readable font with CJK glyphs; searching the system"
            ),
        }
    }
    for p in KNOWN_PATHS {
        if let Some(f) = load_cjk(Path::new(p)) {
            return Some(f);
        }
    }
    let mut found: Vec<(usize, PathBuf)> = Vec::new();
    for dir in font_dirs() {
        walk(&dir, 0, &mut found);
    }
    found.sort();
    found.into_iter().find_map(|(_, p)| load_cjk(&p))
}

fn walk(dir: &Path, depth: usize, found: &mut Vec<(usize, PathBuf)>) {
    if depth > 6 {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walk(&path, depth + 1, found);
        } else if let Some(rank) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| KNOWN_NAMES.iter().position(|k| n.eq_ignore_ascii_case(k)))
        {
            found.push((rank, path));
        }
    }
}

/// Reads `path`, picks its Simplified Chinese face and checks it draws CJK ideographs.
fn load_cjk(path: &Path) -> Option<CjkFont> {
    let data = fs::read(path).ok()?;
    let (index, family) = pick_face(&data);
    let regular = FontVec::try_from_vec_and_index(data, index).ok()?;
    if regular.glyph_id('中') == GlyphId(0) {
        return None;
    }
    let bold = bold_sibling(path).and_then(|bp| {
        let data = fs::read(bp).ok()?;
        let (bi, _) = pick_face(&data);
        let f = FontVec::try_from_vec_and_index(data, bi).ok()?;
        (f.glyph_id('中') != GlyphId(0)).then(|| FontArc::new(f))
    });
    Some(CjkFont {
        path: path.to_path_buf(),
        index,
        family,
        regular: FontArc::new(regular),
        bold,
    })
}

fn bold_sibling(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let bold = name.replace("Regular", "Bold");
    (bold != name)
        .then(|| path.with_file_name(bold))
        .filter(|p| p.is_file())
}

/// The face of a font file to use, with its family name. In a collection (`ttcf`) this is the
/// first face whose family names Simplified Chinese ("... SC", not Mono): NotoSansCJK-Regular.ttc
/// holds JP, KR, SC, TC, HK then the Mono faces, so this picks index 2 ("Noto Sans CJK SC"),
/// whose Han glyphs have the mainland forms. Other collections (wqy-zenhei.ttc) use face 0.
pub fn pick_face(data: &[u8]) -> (u32, String) {
    let offsets = face_offsets(data);
    let names: Vec<String> = offsets
        .iter()
        .map(|&o| family_name(data, o).unwrap_or_default())
        .collect();
    let is_sc = |n: &str| {
        let n = n.to_ascii_lowercase();
        !n.contains("mono")
            && (n.ends_with(" sc") || n.contains(" sc ") || n.contains("simplified"))
    };
    let index = names.iter().position(|n| is_sc(n)).unwrap_or(0);
    (index as u32, names.get(index).cloned().unwrap_or_default())
}

fn be_u16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(d.get(at..at + 2)?.try_into().ok()?))
}

fn be_u32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

/// Offsets of the table directories of each face: one for a plain font, several in a collection.
fn face_offsets(d: &[u8]) -> Vec<usize> {
    if d.get(0..4) == Some(b"ttcf") {
        let n = be_u32(d, 8).unwrap_or(0).min(256) as usize;
        (0..n)
            .filter_map(|i| be_u32(d, 12 + 4 * i).map(|o| o as usize))
            .collect()
    } else {
        vec![0]
    }
}

/// The English family name (name ID 16, else 1) of the face whose table directory is at `dir`.
fn family_name(d: &[u8], dir: usize) -> Option<String> {
    let tables = be_u16(d, dir + 4)? as usize;
    let name_off = (0..tables).find_map(|i| {
        let rec = dir + 12 + 16 * i;
        (d.get(rec..rec + 4)? == b"name").then(|| be_u32(d, rec + 8))?
    })? as usize;
    let count = be_u16(d, name_off + 2)? as usize;
    let strings = name_off + be_u16(d, name_off + 4)? as usize;
    let mut best: Option<(u8, String)> = None;
    for i in 0..count {
        let r = name_off + 6 + 12 * i;
        let (platform, language, name_id) = (be_u16(d, r)?, be_u16(d, r + 4)?, be_u16(d, r + 6)?);
        let (len, off) = (be_u16(d, r + 8)? as usize, be_u16(d, r + 10)? as usize);
        let rank = match (name_id, platform, language) {
            (16, 3, 0x409) => 0,
            (1, 3, 0x409) => 1,
            (16, 1, 0) => 2,
            (1, 1, 0) => 3,
            _ => continue,
        };
        if best.as_ref().is_some_and(|(b, _)| *b <= rank) {
            continue;
        }
        let raw = d.get(strings + off..strings + off + len)?;
        let text = if platform == 3 {
            let units: Vec<u16> = raw
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        } else {
            raw.iter().map(|&b| b as char).collect()
        };
        best = Some((rank, text));
    }
    best.map(|(_, s)| s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_uses_dejavu() {
        assert_eq!(font_for_char('A'), FontChoice::DejaVu { bold: false });
        assert_eq!(
            font_for_char_weight('A', true),
            FontChoice::DejaVu { bold: true }
        );
        assert!(font_for_char('A').has_glyph('A'));
    }

    #[test]
    fn bundled_face_has_a_family_name() {
        let (index, family) = pick_face(DEJAVU_REGULAR);
        assert_eq!(index, 0);
        assert_eq!(family, "DejaVu Sans");
    }
}
