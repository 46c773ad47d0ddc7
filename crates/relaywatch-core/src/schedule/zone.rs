//! Timezones for schedules: IANA names (`Asia/Shanghai`) and the system's own zone; rule: the
//! system zone is read once at config time (`TZ`, then `/etc/timezone`, then the
//! `/etc/localtime` link, else UTC) and passed in, so fire-time functions never read it.

use std::path::Path;

use chrono_tz::Tz;

/// An IANA timezone name (case-insensitive), or an error naming the value and the fix.
pub fn parse_tz(name: &str) -> Result<Tz, String> {
    let n = name.trim();
    if let Ok(tz) = n.parse::<Tz>() {
        return Ok(tz);
    }
    if let Some(tz) = chrono_tz::TZ_VARIANTS
        .iter()
        .find(|tz| tz.name().eq_ignore_ascii_case(n))
    {
        return Ok(*tz);
    }
    Err(format!(
        "`{n}` is not an IANA timezone name: use one such as Asia/Shanghai, Europe/Berlin, America/New_York or UTC"
    ))
}

/// The zone named by a `TZ` value, `/etc/timezone` contents or a `/etc/localtime` link target;
/// `None` when none of them names a known zone.
pub fn detect_tz(
    tz_env: Option<&str>,
    etc_timezone: Option<&str>,
    localtime_target: Option<&Path>,
) -> Option<Tz> {
    let from_env = tz_env.and_then(|v| {
        let v = v.trim().trim_start_matches(':');
        parse_tz(v).ok().or_else(|| zone_from_path(Path::new(v)))
    });
    from_env
        .or_else(|| {
            etc_timezone
                .and_then(|s| s.lines().next())
                .and_then(|l| parse_tz(l).ok())
        })
        .or_else(|| localtime_target.and_then(zone_from_path))
}

/// `/usr/share/zoneinfo/Europe/Berlin` → Europe/Berlin.
fn zone_from_path(p: &Path) -> Option<Tz> {
    let s = p.to_str()?;
    let (_, name) = s.rsplit_once("zoneinfo/")?;
    let name = name
        .strip_prefix("posix/")
        .or_else(|| name.strip_prefix("right/"))
        .unwrap_or(name);
    parse_tz(name).ok()
}

/// The system's zone (I/O: reads `TZ`, `/etc/timezone` and the `/etc/localtime` link); UTC when
/// none names a known zone. Call once when loading the config.
pub fn system_tz() -> Tz {
    let env = std::env::var("TZ").ok();
    let etc = std::fs::read_to_string("/etc/timezone").ok();
    let link = std::fs::read_link("/etc/localtime").ok();
    detect_tz(env.as_deref(), etc.as_deref(), link.as_deref()).unwrap_or(chrono_tz::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_iana_and_case_insensitive() {
        assert_eq!(parse_tz("Asia/Shanghai"), Ok(chrono_tz::Asia::Shanghai));
        assert_eq!(parse_tz("europe/berlin"), Ok(chrono_tz::Europe::Berlin));
        let e = parse_tz("Asia/Shangai").unwrap_err();
        assert!(
            e.starts_with("`Asia/Shangai` is not an IANA timezone name"),
            "{e}"
        );
    }

    #[test]
    fn system_zone_sources_in_order() {
        let link = Path::new("/usr/share/zoneinfo/Europe/Berlin");
        assert_eq!(
            detect_tz(
                Some(":America/New_York"),
                Some("Asia/Shanghai\n"),
                Some(link)
            ),
            Some(chrono_tz::America::New_York)
        );
        assert_eq!(
            detect_tz(Some("/usr/share/zoneinfo/Asia/Tokyo"), None, None),
            Some(chrono_tz::Asia::Tokyo)
        );
        assert_eq!(
            detect_tz(Some("<+03>-3"), Some("Asia/Shanghai\n"), Some(link)),
            Some(chrono_tz::Asia::Shanghai)
        );
        assert_eq!(
            detect_tz(None, None, Some(link)),
            Some(chrono_tz::Europe::Berlin)
        );
        assert_eq!(
            detect_tz(
                None,
                None,
                Some(Path::new("../usr/share/zoneinfo/posix/Asia/Tokyo"))
            ),
            Some(chrono_tz::Asia::Tokyo)
        );
        assert_eq!(detect_tz(None, Some("garbage"), None), None);
    }
}
