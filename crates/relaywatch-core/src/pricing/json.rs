//! A strict JSON reader for LiteLLM price files that reads numbers exactly as JavaScript's
//! `JSON.parse` does. Rule kept: every number is correctly rounded from its text (serde_json's
//! default fast path can be one ulp off for 17-digit values, which would shift a CRS total), and
//! an object keeps JavaScript's semantics for a repeated key (first place, last value).

use std::borrow::Cow;
use std::collections::HashMap;

use super::table::{ModelPrice, PriceField};

/// Where and why a price file is not valid JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// What a top-level value is, for the "not an object" error.
pub(crate) enum TopLevel {
    Object(Vec<(String, Option<ModelPrice>)>),
    Other(&'static str),
}

const MAX_DEPTH: usize = 512;

/// Parse a whole price file: an object of entries, or the kind of the other top-level value.
pub(crate) fn parse_price_file(text: &str) -> Result<TopLevel, JsonError> {
    let mut p = Parser {
        s: text.as_bytes(),
        pos: 0,
    };
    if text.starts_with('\u{feff}') {
        // JSON.parse rejects a BOM, but CRS reads files with fs.readFileSync(..., 'utf8'),
        // which keeps it; be lenient rather than refuse a hand-edited file.
        p.pos = 3;
    }
    p.ws();
    let top = match p.peek() {
        Some(b'{') => TopLevel::Object(p.entries()?),
        Some(b'[') => {
            p.skip_value(0)?;
            TopLevel::Other("an array")
        }
        Some(b'"') => {
            p.string()?;
            TopLevel::Other("a string")
        }
        Some(b't' | b'f') => {
            p.skip_value(0)?;
            TopLevel::Other("a boolean")
        }
        Some(b'n') => {
            p.skip_value(0)?;
            TopLevel::Other("null")
        }
        Some(_) => {
            p.number()?;
            TopLevel::Other("a number")
        }
        None => return Err(p.error("the file is empty")),
    };
    p.ws();
    if p.pos < p.s.len() {
        return Err(p.error("unexpected text after the top-level value"));
    }
    Ok(top)
}

/// A field value of an entry, kept only as far as CRS's rules need it.
enum Field<'a> {
    Null,
    Bool(bool),
    Num(f64),
    Str(Cow<'a, str>),
    /// An array, or an object; `fast` is an object's `fast` member (provider_specific_entry).
    Compound {
        fast: Option<Box<Field<'a>>>,
    },
}

impl Field<'_> {
    /// The number JavaScript arithmetic sees; `None` for `null`.
    fn number(&self) -> Option<f64> {
        match self {
            Field::Null => None,
            Field::Num(n) => Some(*n),
            Field::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            Field::Str(s) => {
                let t = s.trim();
                Some(if t.is_empty() {
                    0.0
                } else {
                    t.parse::<f64>().unwrap_or(f64::NAN)
                })
            }
            Field::Compound { .. } => Some(f64::NAN),
        }
    }

    /// For a string, boolean, array or object, its truthiness; `None` for a number or `null`.
    fn non_number_truthiness(&self) -> Option<bool> {
        match self {
            Field::Null | Field::Num(_) => None,
            other => Some(other.truthy()),
        }
    }

    fn truthy(&self) -> bool {
        match self {
            Field::Null => false,
            Field::Bool(b) => *b,
            Field::Num(n) => *n != 0.0 && !n.is_nan(),
            Field::Str(s) => !s.is_empty(),
            Field::Compound { .. } => true,
        }
    }
}

/// The price field of `p` that the entry field `name` sets, and which detailed-path field it is
/// (`None` for the priority prices, which CRS reads per request only); `None` for a non-price.
fn price_slot<'p>(
    p: &'p mut ModelPrice,
    name: &str,
) -> Option<(&'p mut Option<f64>, Option<PriceField>)> {
    use PriceField::*;
    Some(match name {
        "input_cost_per_token" => (&mut p.input_cost_per_token, Some(Input)),
        "output_cost_per_token" => (&mut p.output_cost_per_token, Some(Output)),
        "cache_creation_input_token_cost" => {
            (&mut p.cache_creation_input_token_cost, Some(CacheCreate))
        }
        "cache_read_input_token_cost" => (&mut p.cache_read_input_token_cost, Some(CacheRead)),
        "cache_creation_input_token_cost_above_1hr" => (
            &mut p.cache_creation_input_token_cost_above_1hr,
            Some(CacheCreate1h),
        ),
        "input_cost_per_token_above_200k_tokens" => (
            &mut p.input_cost_per_token_above_200k_tokens,
            Some(Input200k),
        ),
        "output_cost_per_token_above_200k_tokens" => (
            &mut p.output_cost_per_token_above_200k_tokens,
            Some(Output200k),
        ),
        "cache_creation_input_token_cost_above_200k_tokens" => (
            &mut p.cache_creation_input_token_cost_above_200k_tokens,
            Some(CacheCreate200k),
        ),
        "cache_read_input_token_cost_above_200k_tokens" => (
            &mut p.cache_read_input_token_cost_above_200k_tokens,
            Some(CacheRead200k),
        ),
        "cache_creation_input_token_cost_above_1hr_above_200k_tokens" => (
            &mut p.cache_creation_input_token_cost_above_1hr_above_200k_tokens,
            Some(CacheCreate1h200k),
        ),
        "input_cost_per_token_priority" => (&mut p.input_cost_per_token_priority, None),
        "output_cost_per_token_priority" => (&mut p.output_cost_per_token_priority, None),
        "cache_read_input_token_cost_priority" => {
            (&mut p.cache_read_input_token_cost_priority, None)
        }
        _ => return None,
    })
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn error(&self, message: &str) -> JsonError {
        let upto = &self.s[..self.pos.min(self.s.len())];
        let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = upto.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&upto[line_start..]).chars().count() + 1;
        JsonError {
            line,
            column,
            message: message.to_string(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect(&mut self, c: u8, what: &str) -> Result<(), JsonError> {
        self.ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), JsonError> {
        if self.s[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.error("invalid literal"))
        }
    }

    /// The top-level object of entries.
    fn entries(&mut self) -> Result<Vec<(String, Option<ModelPrice>)>, JsonError> {
        let mut out: Vec<(String, Option<ModelPrice>)> = Vec::with_capacity(512);
        let mut seen: HashMap<String, usize> = HashMap::with_capacity(512);
        self.expect(b'{', "expected `{`")?;
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(out);
        }
        loop {
            self.ws();
            let key = self.string()?.into_owned();
            self.expect(b':', "expected `:` after a model name")?;
            self.ws();
            let entry = self.entry()?;
            match seen.get(&key) {
                Some(&i) => out[i].1 = entry,
                None => {
                    seen.insert(key.clone(), out.len());
                    out.push((key, entry));
                }
            }
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(out);
                }
                _ => return Err(self.error("expected `,` or `}` between models")),
            }
        }
    }

    /// One model entry: an object becomes a [`ModelPrice`]; a JavaScript-falsy value becomes
    /// `None`; any other value is an entry without prices.
    fn entry(&mut self) -> Result<Option<ModelPrice>, JsonError> {
        if self.peek() != Some(b'{') {
            let v = self.field(0, false)?;
            return Ok(v.truthy().then(ModelPrice::default));
        }
        self.pos += 1;
        let mut p = ModelPrice::default();
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Some(p));
        }
        loop {
            self.ws();
            let name = self.string()?;
            self.expect(b':', "expected `:` after a field name")?;
            self.ws();
            if let Some((slot, kind)) = price_slot(&mut p, name.as_ref()) {
                let value = self.field(1, false)?;
                *slot = value.number();
                // A repeated field keeps its last value, and so its last kind.
                if let Some(kind) = kind {
                    p.non_numbers.set(kind, value.non_number_truthiness());
                }
            } else {
                self.other_field(&mut p, name.as_ref())?;
            }
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Some(p));
                }
                _ => return Err(self.error("expected `,` or `}` in a model entry")),
            }
        }
    }

    /// A field of an entry that is not a price: the provider, the service-tier flag and the
    /// fast-mode multiplier are kept, anything else skipped.
    fn other_field(&mut self, p: &mut ModelPrice, name: &str) -> Result<(), JsonError> {
        match name {
            "litellm_provider" => {
                p.litellm_provider = match self.field(1, false)? {
                    Field::Str(s) => Some(s.into_owned()),
                    _ => None,
                };
            }
            "supports_service_tier" => {
                p.supports_service_tier = self.field(1, false)?.truthy();
            }
            "provider_specific_entry" => {
                p.fast_multiplier = match self.field(1, true)? {
                    Field::Compound { fast: Some(f) } => f.number(),
                    _ => None,
                };
            }
            _ => self.skip_value(1)?,
        }
        Ok(())
    }

    /// A value; with `want_fast`, an object's `fast` member is kept.
    fn field(&mut self, depth: usize, want_fast: bool) -> Result<Field<'a>, JsonError> {
        match self.peek() {
            Some(b'n') => self.literal(b"null").map(|_| Field::Null),
            Some(b't') => self.literal(b"true").map(|_| Field::Bool(true)),
            Some(b'f') => self.literal(b"false").map(|_| Field::Bool(false)),
            Some(b'"') => self.string().map(Field::Str),
            Some(b'{') if want_fast => {
                self.pos += 1;
                let mut fast = None;
                self.ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    return Ok(Field::Compound { fast });
                }
                loop {
                    self.ws();
                    let name = self.string()?;
                    self.expect(b':', "expected `:` after a field name")?;
                    self.ws();
                    if name == "fast" {
                        fast = Some(Box::new(self.field(depth + 1, false)?));
                    } else {
                        self.skip_value(depth + 1)?;
                    }
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Field::Compound { fast });
                        }
                        _ => return Err(self.error("expected `,` or `}` in an object")),
                    }
                }
            }
            Some(b'{' | b'[') => {
                self.skip_value(depth)?;
                Ok(Field::Compound { fast: None })
            }
            Some(_) => self.number().map(Field::Num),
            None => Err(self.error("unexpected end of file")),
        }
    }

    /// Validate and skip any value.
    fn skip_value(&mut self, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        self.ws();
        match self.peek() {
            Some(open @ (b'{' | b'[')) => {
                let close = if open == b'{' { b'}' } else { b']' };
                self.pos += 1;
                self.ws();
                if self.peek() == Some(close) {
                    self.pos += 1;
                    return Ok(());
                }
                loop {
                    self.ws();
                    if open == b'{' {
                        self.string()?;
                        self.expect(b':', "expected `:` after a field name")?;
                    }
                    self.skip_value(depth + 1)?;
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(c) if c == close => {
                            self.pos += 1;
                            return Ok(());
                        }
                        _ => return Err(self.error("expected `,` or a closing bracket")),
                    }
                }
            }
            _ => self.field(depth, false).map(|_| ()),
        }
    }

    /// A string; borrowed when it has no escapes.
    fn string(&mut self) -> Result<Cow<'a, str>, JsonError> {
        if self.peek() != Some(b'"') {
            return Err(self.error("expected a string"));
        }
        self.pos += 1;
        let start = self.pos;
        // Fast path: no escapes.
        while let Some(c) = self.peek() {
            match c {
                b'"' => {
                    let s = &self.s[start..self.pos];
                    self.pos += 1;
                    return std::str::from_utf8(s)
                        .map(Cow::Borrowed)
                        .map_err(|_| self.error("invalid UTF-8 in a string"));
                }
                b'\\' => break,
                0..=0x1f => return Err(self.error("control character in a string")),
                _ => self.pos += 1,
            }
        }
        let mut buf: Vec<u8> = self.s[start..self.pos].to_vec();
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return String::from_utf8(buf)
                        .map(Cow::Owned)
                        .map_err(|_| self.error("invalid UTF-8 in a string"));
                }
                Some(0..=0x1f) => return Err(self.error("control character in a string")),
                Some(b'\\') => {
                    self.pos += 1;
                    let c = self
                        .peek()
                        .ok_or_else(|| self.error("unterminated string"))?;
                    self.pos += 1;
                    let ch = match c {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return Err(self.error("invalid escape in a string")),
                    };
                    let mut tmp = [0u8; 4];
                    buf.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
                }
                Some(c) => {
                    buf.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self
            .s
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.error("short \\u escape"))?;
        let text = std::str::from_utf8(digits).map_err(|_| self.error("invalid \\u escape"))?;
        let v = u32::from_str_radix(text, 16).map_err(|_| self.error("invalid \\u escape"))?;
        self.pos += 4;
        Ok(v)
    }

    /// The character after `\u`; a lone surrogate (legal in JavaScript) becomes U+FFFD.
    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) && self.s[self.pos..].starts_with(b"\\u") {
            let save = self.pos;
            self.pos += 2;
            let lo = self.hex4()?;
            if (0xDC00..0xE000).contains(&lo) {
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return Ok(char::from_u32(c).unwrap_or('\u{fffd}'));
            }
            self.pos = save;
        }
        Ok(char::from_u32(hi).unwrap_or('\u{fffd}'))
    }

    /// A JSON number, correctly rounded like JavaScript's.
    fn number(&mut self) -> Result<f64, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                while let Some(b'0'..=b'9') = self.peek() {
                    self.pos += 1;
                }
            }
            _ => return Err(self.error("expected a value")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error("expected a digit after `.`"));
            }
            while let Some(b'0'..=b'9') = self.peek() {
                self.pos += 1;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error("expected a digit in the exponent"));
            }
            while let Some(b'0'..=b'9') = self.peek() {
                self.pos += 1;
            }
        }
        // The bytes are ASCII digits and signs, so this is valid UTF-8.
        let text = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("NaN");
        text.parse::<f64>()
            .map_err(|_| self.error("invalid number"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(text: &str) -> Vec<(String, Option<ModelPrice>)> {
        match parse_price_file(text).unwrap() {
            TopLevel::Object(v) => v,
            TopLevel::Other(k) => panic!("not an object: {k}"),
        }
    }

    #[test]
    fn numbers_are_correctly_rounded() {
        // 17 significant digits: serde_json's default path lands one ulp away here.
        let v = entries(r#"{"m": {"input_cost_per_token": 1.8000045599999999}}"#);
        assert_eq!(
            v[0].1.as_ref().unwrap().input_cost_per_token,
            Some("1.8000045599999999".parse::<f64>().unwrap())
        );
        let v = entries(
            r#"{"m": {"input_cost_per_token": 3.3333333333333335e-7, "output_cost_per_token": -0}}"#,
        );
        let p = v[0].1.as_ref().unwrap();
        assert_eq!(p.input_cost_per_token, Some(3.333_333_333_333_333_5e-7));
        assert_eq!(p.output_cost_per_token, Some(0.0));
    }

    #[test]
    fn strings_escapes_and_errors() {
        let v = entries(r#"{"a\u00e9\"b": {"litellm_provider": "x\/y"}, "\ud83d\ude00": 1}"#);
        assert_eq!(v[0].0, "a\u{e9}\"b");
        assert_eq!(
            v[0].1.as_ref().unwrap().litellm_provider.as_deref(),
            Some("x/y")
        );
        assert_eq!(v[1].0, "\u{1f600}");
        let e = parse_price_file("{\n  \"a\": {,}\n}").err().unwrap();
        assert_eq!((e.line, e.column), (2, 9));
        assert!(parse_price_file(r#"{"a": 01}"#).is_err());
        assert!(parse_price_file(r#"{"a": 1,}"#).is_err());
        assert!(parse_price_file(r#"{"a": 1} x"#).is_err());
        assert!(parse_price_file("").is_err());
        assert!(matches!(
            parse_price_file("[1, {\"a\": [true, null]}]").unwrap(),
            TopLevel::Other("an array")
        ));
    }
}
