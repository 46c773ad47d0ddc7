//! Addresses as the SSRF guard sees them: host parsing that reads every numeric IPv4 form
//! (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`) as an address, CIDR ranges (`ipnet`), and the
//! table of ranges a webhook may never reach. Rule: an IPv6 address that carries an IPv4 one
//! (mapped, compatible, translated, NAT64, 6to4) is judged by the IPv4 address it carries.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// What a URL's host is: an address (whatever numeric form it was written in) or a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKind {
    Ip(IpAddr),
    /// A DNS name, lower-cased, without a trailing dot.
    Name(String),
}

/// A host that looks numeric (it ends in a number) but is no valid address, as WHATWG's URL
/// parser refuses it: `1.2.3.4.5`, `256.1.1.1`, `0x1g.1`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{host:?} is not a valid host: {reason}")]
pub struct InvalidHost {
    pub host: String,
    pub reason: &'static str,
}

/// Read a host the way a browser (WHATWG URL) and `inet_aton` do: `[v6]` and bare IPv6
/// literals, then IPv4 in 1 to 4 parts, each decimal, `0x` hex or `0` octal; anything else that
/// does not end in a number is a name.
pub fn parse_host(host: &str) -> Result<HostKind, InvalidHost> {
    let invalid = |reason| InvalidHost {
        host: host.to_string(),
        reason,
    };
    if host.is_empty() {
        return Err(invalid("empty host"));
    }
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or_else(|| invalid("unclosed ["))?;
        return inner
            .parse::<Ipv6Addr>()
            .map(|a| HostKind::Ip(IpAddr::V6(a)))
            .map_err(|_| invalid("not an IPv6 address"));
    }
    if host.contains(':') {
        return host
            .parse::<Ipv6Addr>()
            .map(|a| HostKind::Ip(IpAddr::V6(a)))
            .map_err(|_| invalid("not an IPv6 address"));
    }
    if ends_in_a_number(host) {
        return parse_ipv4(host)
            .map(|a| HostKind::Ip(IpAddr::V4(a)))
            .map_err(invalid);
    }
    let name = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    if name.is_empty() {
        return Err(invalid("empty host"));
    }
    Ok(HostKind::Name(name))
}

/// WHATWG's "ends in a number": the last label (after one trailing dot) is all digits or a
/// valid `0x` number, so the host must be read as IPv4.
fn ends_in_a_number(host: &str) -> bool {
    let mut parts: Vec<&str> = host.split('.').collect();
    if parts.last() == Some(&"") {
        if parts.len() == 1 {
            return false;
        }
        parts.pop();
    }
    let last = parts.last().copied().unwrap_or("");
    if !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    parse_ipv4_number(last).is_ok()
}

/// One IPv4 part: decimal, `0x`/`0X` hex (`0x` alone is 0) or `0`-led octal.
fn parse_ipv4_number(part: &str) -> Result<u64, &'static str> {
    if part.is_empty() {
        return Err("empty part");
    }
    let (digits, radix) =
        if let Some(h) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            (h, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (&part[1..], 8)
        } else {
            (part, 10)
        };
    if digits.is_empty() {
        return Ok(0);
    }
    if !digits.chars().all(|c| c.is_digit(radix)) {
        return Err("a part is not a number");
    }
    // Long parts overflow u64 only when absurd; treat that as out of range.
    u64::from_str_radix(digits, radix).map_err(|_| "a part is out of range")
}

fn parse_ipv4(host: &str) -> Result<Ipv4Addr, &'static str> {
    let mut parts: Vec<&str> = host.split('.').collect();
    if parts.last() == Some(&"") && parts.len() > 1 {
        parts.pop();
    }
    if parts.len() > 4 {
        return Err("more than 4 parts in an IPv4 address");
    }
    let numbers = parts
        .iter()
        .map(|p| parse_ipv4_number(p))
        .collect::<Result<Vec<u64>, _>>()?;
    let (last, init) = numbers.split_last().ok_or("empty host")?;
    if init.iter().any(|&n| n > 255) {
        return Err("an IPv4 part is above 255");
    }
    let room = 256u64.pow(5 - numbers.len() as u32);
    if *last >= room {
        return Err("the last IPv4 part is out of range");
    }
    let mut value = *last;
    for (i, n) in init.iter().enumerate() {
        value += n * 256u64.pow(3 - i as u32);
    }
    Ok(Ipv4Addr::from(value as u32))
}

/// An address range (`ipnet`'s), host bits cleared. `Display` is `10.0.0.0/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr(IpNet);

/// Why a CIDR string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a CIDR: {reason}")]
pub struct InvalidCidr {
    pub value: String,
    pub reason: String,
}

impl Cidr {
    /// A range from an address and a prefix length; host bits are cleared.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Cidr> {
        IpNet::new(addr, prefix).ok().map(|n| Cidr(n.trunc()))
    }

    /// `10.0.0.0/8`, `fc00::/7`, `[::1]/128`, or a single address (`/32`, `/128`).
    pub fn parse(s: &str) -> Result<Cidr, InvalidCidr> {
        let invalid = |reason: String| InvalidCidr {
            value: s.to_string(),
            reason,
        };
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr = addr.trim_start_matches('[').trim_end_matches(']');
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| invalid(format!("{addr:?} is not an IP address")))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|&p| p <= max)
                .ok_or_else(|| invalid(format!("prefix {p:?} is not 0..={max}")))?,
        };
        Ok(Cidr::new(addr, prefix).expect("prefix checked"))
    }

    pub fn addr(&self) -> IpAddr {
        self.0.network()
    }

    pub fn prefix(&self) -> u8 {
        self.0.prefix_len()
    }

    /// Whether `ip` is inside; an IPv4 range never contains an IPv6 address and vice versa.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr(), self.prefix())
    }
}

/// The rule a refusal is made under: one name per kind of range (and per non-address rule, see
/// `Refusal::rule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// Not a URL, or a host no parser accepts.
    InvalidUrl,
    /// Not http(s).
    Scheme,
    /// `http://` while `[network] allow_http` is off.
    PlainHttp,
    /// A port that belongs to a service a webhook never is; the refusal's full rule name
    /// carries the family (`port:database`, see `ports` and `Refusal::rule_name`).
    Port,
    /// A cloud metadata name or address.
    Metadata,
    /// A name that resolved to no address.
    NoAddress,
    /// A proxy URL that is not http:// or socks5(h)://.
    Proxy,
    Loopback,
    Private,
    LinkLocal,
    /// 100.64.0.0/10, carrier-grade NAT.
    Cgnat,
    /// 0.0.0.0/8 and `::`.
    Unspecified,
    Broadcast,
    Multicast,
    /// 198.18.0.0/15, 2001:2::/48.
    Benchmarking,
    /// fc00::/7.
    UniqueLocal,
    /// fec0::/10.
    SiteLocal,
    /// 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32, 3fff::/20.
    Documentation,
    /// 240.0.0.0/4, 192.0.0.0/24, 192.88.99.0/24, 100::/64, 2001::/32 (Teredo),
    /// 64:ff9b:1::/48 (local NAT64).
    Reserved,
}

impl Rule {
    /// The word used in messages: "private", "loopback", …
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::InvalidUrl => "invalid URL",
            Rule::Scheme => "scheme",
            Rule::PlainHttp => "plain http",
            Rule::Port => "a refused port",
            Rule::Metadata => "cloud metadata",
            Rule::NoAddress => "no address",
            Rule::Proxy => "proxy",
            Rule::Loopback => "loopback",
            Rule::Private => "private",
            Rule::LinkLocal => "link-local",
            Rule::Cgnat => "carrier-grade NAT",
            Rule::Unspecified => "unspecified (this network)",
            Rule::Broadcast => "broadcast",
            Rule::Multicast => "multicast",
            Rule::Benchmarking => "benchmarking",
            Rule::UniqueLocal => "unique-local",
            Rule::SiteLocal => "site-local",
            Rule::Documentation => "documentation",
            Rule::Reserved => "reserved",
        }
    }
}

impl Rule {
    /// The rule's name: `loopback`, `private`, `metadata`, `port`, … (a port refusal's
    /// message names the family too: `port:database`).
    pub fn name(self) -> &'static str {
        match self {
            Rule::InvalidUrl => "invalid-url",
            Rule::Scheme => "scheme",
            Rule::PlainHttp => "plain-http",
            Rule::Port => "port",
            Rule::Metadata => "metadata",
            Rule::NoAddress => "no-address",
            Rule::Proxy => "proxy",
            Rule::Loopback => "loopback",
            Rule::Private => "private",
            Rule::LinkLocal => "link-local",
            Rule::Cgnat => "cgnat",
            Rule::Unspecified => "unspecified",
            Rule::Broadcast => "broadcast",
            Rule::Multicast => "multicast",
            Rule::Benchmarking => "benchmarking",
            Rule::UniqueLocal => "unique-local",
            Rule::SiteLocal => "site-local",
            Rule::Documentation => "documentation",
            Rule::Reserved => "reserved",
        }
    }
}

impl fmt::Display for Rule {
    /// The rule's name (see [`Rule::name`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A refused range: the rule and the range as written in its RFC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub rule: Rule,
    pub cidr: &'static str,
}

/// How an IPv6 address carried the IPv4 address that was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Embedding {
    /// `::ffff:a.b.c.d`
    Mapped,
    /// `::a.b.c.d` (deprecated IPv4-compatible)
    Compatible,
    /// `::ffff:0:a.b.c.d` (SIIT IPv4-translated)
    Translated,
    /// `64:ff9b::a.b.c.d`
    Nat64,
    /// `2002:AABB:CCDD::/48`
    SixToFour,
}

impl fmt::Display for Embedding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Embedding::Mapped => "IPv4-mapped ::ffff:0:0/96",
            Embedding::Compatible => "IPv4-compatible ::/96",
            Embedding::Translated => "IPv4-translated ::ffff:0:0:0/96",
            Embedding::Nat64 => "NAT64 64:ff9b::/96",
            Embedding::SixToFour => "6to4 2002::/16",
        })
    }
}

const V4_RANGES: [(Ipv4Net, Range); 18] = [
    (v4(0, 0, 0, 0, 8), r(Rule::Unspecified, "0.0.0.0/8")),
    (v4(10, 0, 0, 0, 8), r(Rule::Private, "10.0.0.0/8")),
    (v4(100, 64, 0, 0, 10), r(Rule::Cgnat, "100.64.0.0/10")),
    (v4(127, 0, 0, 0, 8), r(Rule::Loopback, "127.0.0.0/8")),
    (v4(169, 254, 0, 0, 16), r(Rule::LinkLocal, "169.254.0.0/16")),
    (v4(172, 16, 0, 0, 12), r(Rule::Private, "172.16.0.0/12")),
    (v4(192, 0, 0, 0, 24), r(Rule::Reserved, "192.0.0.0/24")),
    (v4(192, 0, 2, 0, 24), r(Rule::Documentation, "192.0.2.0/24")),
    (v4(192, 88, 99, 0, 24), r(Rule::Reserved, "192.88.99.0/24")),
    (v4(192, 168, 0, 0, 16), r(Rule::Private, "192.168.0.0/16")),
    (
        v4(198, 18, 0, 0, 15),
        r(Rule::Benchmarking, "198.18.0.0/15"),
    ),
    (
        v4(198, 51, 100, 0, 24),
        r(Rule::Documentation, "198.51.100.0/24"),
    ),
    (
        v4(203, 0, 113, 0, 24),
        r(Rule::Documentation, "203.0.113.0/24"),
    ),
    (v4(224, 0, 0, 0, 4), r(Rule::Multicast, "224.0.0.0/4")),
    (
        v4(255, 255, 255, 255, 32),
        r(Rule::Broadcast, "255.255.255.255/32"),
    ),
    (v4(240, 0, 0, 0, 4), r(Rule::Reserved, "240.0.0.0/4")),
    // Listed last: already covered above, kept so the table reads as the RFCs do.
    (v4(0, 0, 0, 0, 32), r(Rule::Unspecified, "0.0.0.0/32")),
    (v4(127, 0, 0, 1, 32), r(Rule::Loopback, "127.0.0.1/32")),
];

const V6_RANGES: [(Ipv6Net, Range); 11] = [
    (
        v6([0, 0, 0, 0, 0, 0, 0, 0], 128),
        r(Rule::Unspecified, "::/128"),
    ),
    (
        v6([0, 0, 0, 0, 0, 0, 0, 1], 128),
        r(Rule::Loopback, "::1/128"),
    ),
    (
        v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48),
        r(Rule::Reserved, "64:ff9b:1::/48"),
    ),
    (
        v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64),
        r(Rule::Reserved, "100::/64"),
    ),
    (
        v6([0x2001, 2, 0, 0, 0, 0, 0, 0], 48),
        r(Rule::Benchmarking, "2001:2::/48"),
    ),
    (
        v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32),
        r(Rule::Documentation, "2001:db8::/32"),
    ),
    (
        v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 32),
        r(Rule::Reserved, "2001::/32 (Teredo)"),
    ),
    (
        v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20),
        r(Rule::Documentation, "3fff::/20"),
    ),
    (
        v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7),
        r(Rule::UniqueLocal, "fc00::/7"),
    ),
    (
        v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10),
        r(Rule::LinkLocal, "fe80::/10"),
    ),
    (
        v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10),
        r(Rule::SiteLocal, "fec0::/10"),
    ),
];

const V6_MULTICAST: Range = r(Rule::Multicast, "ff00::/8");

const fn r(rule: Rule, cidr: &'static str) -> Range {
    Range { rule, cidr }
}

const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), prefix)
}

const fn v6(s: [u16; 8], prefix: u8) -> Ipv6Net {
    let ip = Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]);
    Ipv6Net::new_assert(ip, prefix)
}

/// The IPv4 address an IPv6 address carries, and how, if it carries one.
pub fn embedded_v4(a: Ipv6Addr) -> Option<(Ipv4Addr, Embedding)> {
    let v = u128::from(a);
    let low = Ipv4Addr::from(v as u32);
    match v >> 32 {
        0xffff => return Some((low, Embedding::Mapped)),
        0xffff_0000 => return Some((low, Embedding::Translated)),
        0 if v > 1 => return Some((low, Embedding::Compatible)),
        _ => {}
    }
    if v >> 32 == 0x0064_ff9b_0000_0000_0000_0000 {
        return Some((low, Embedding::Nat64));
    }
    if v >> 112 == 0x2002 {
        return Some((Ipv4Addr::from((v >> 80) as u32), Embedding::SixToFour));
    }
    None
}

/// The refused range `ip` is in, judging an embedded IPv4 address by its own ranges; `None`
/// for a public address.
pub fn classify(ip: IpAddr) -> Option<(Range, Option<Embedding>)> {
    match ip {
        IpAddr::V4(a) => classify_v4(a).map(|r| (r, None)),
        IpAddr::V6(a) => {
            if let Some((v4, how)) = embedded_v4(a) {
                return classify_v4(v4).map(|r| (r, Some(how)));
            }
            let v = u128::from(a);
            if v >> 120 == 0xff {
                return Some((V6_MULTICAST, None));
            }
            V6_RANGES
                .iter()
                .find(|(net, _)| net.contains(&a))
                .map(|(_, range)| (*range, None))
        }
    }
}

fn classify_v4(a: Ipv4Addr) -> Option<Range> {
    V4_RANGES
        .iter()
        .find(|(net, _)| net.contains(&a))
        .map(|(_, range)| *range)
}

/// Cloud metadata and platform-agent ranges, refused whatever `[network] allow` says: AWS's
/// link-local services (IMDS .254, DNS .253, time .123; ECS task metadata 169.254.170.2, EKS
/// Pod Identity 169.254.170.23), which GCP, Azure, OpenStack, Oracle, DigitalOcean, Hetzner,
/// Linode, Vultr and IBM share at 169.254.169.254.
const METADATA_V4_RANGES: [Ipv4Net; 2] = [v4(169, 254, 169, 0, 24), v4(169, 254, 170, 0, 24)];

/// Single metadata addresses: Tencent (169.254.0.23), Scaleway (169.254.42.42), Alibaba
/// (100.100.100.200), Azure WireServer and its DNS (168.63.129.16), Oracle's legacy address
/// (192.0.0.192); IPv6: AWS IMDS, DNS, time and EKS Pod Identity (fd00:ec2::254, ::253, ::123,
/// ::23), GCP (fd20:ce::254), Scaleway (fd00:42::42).
const METADATA_ADDRS: [IpAddr; 11] = [
    IpAddr::V4(Ipv4Addr::new(169, 254, 0, 23)),
    IpAddr::V4(Ipv4Addr::new(169, 254, 42, 42)),
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)),
    IpAddr::V4(Ipv4Addr::new(168, 63, 129, 16)),
    IpAddr::V4(Ipv4Addr::new(192, 0, 0, 192)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x253)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x123)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23)),
    IpAddr::V6(Ipv6Addr::new(0xfd20, 0xce, 0, 0, 0, 0, 0, 0x254)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0x42, 0, 0, 0, 0, 0, 0x42)),
];

/// Cloud metadata endpoints by name (matched exactly, after IDNA and case folding).
const METADATA_NAMES: [&str; 9] = [
    "metadata",
    "metadata.google.internal",
    "metadata.goog",
    "instance-data",
    "instance-data.ec2.internal",
    "metadata.ec2.internal",
    "metadata.tencentyun.com",
    "metadata.platformequinix.com",
    "metadata.packet.net",
];

/// The metadata list entry `ip` is, by address or range.
fn is_metadata_exact(ip: IpAddr) -> bool {
    if METADATA_ADDRS.contains(&ip) {
        return true;
    }
    match ip {
        IpAddr::V4(a) => METADATA_V4_RANGES.iter().any(|net| net.contains(&a)),
        IpAddr::V6(_) => false,
    }
}

/// Every IPv4 address an IPv6 address could carry to a gateway: the usual embeddings (mapped,
/// compatible, translated, NAT64, 6to4), Teredo's server and (inverted) client, and the
/// local-use NAT64 prefix 64:ff9b:1::/48 at its /96 and /48 positions (RFC 6052).
pub fn carried_v4(a: Ipv6Addr) -> Vec<Ipv4Addr> {
    let v = u128::from(a);
    let mut out: Vec<Ipv4Addr> = embedded_v4(a).map(|(v4, _)| v4).into_iter().collect();
    if v >> 96 == 0x2001_0000 {
        out.push(Ipv4Addr::from((v >> 64) as u32));
        out.push(Ipv4Addr::from(!(v as u32)));
    }
    if v >> 80 == 0x0064_ff9b_0001 {
        out.push(Ipv4Addr::from(v as u32));
        let hi = ((v >> 64) & 0xffff) as u32;
        let lo = ((v >> 40) & 0xffff) as u32;
        out.push(Ipv4Addr::from(hi << 16 | lo));
    }
    out
}

/// Whether `ip`, or an IPv4 address it carries in any form, is a cloud metadata endpoint.
pub fn is_metadata_addr(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(_) => is_metadata_exact(ip),
        IpAddr::V6(a) => {
            is_metadata_exact(ip)
                || carried_v4(a)
                    .into_iter()
                    .any(|v4| is_metadata_exact(IpAddr::V4(v4)))
        }
    }
}

/// Whether `name` (lower-case, no trailing dot) is a cloud metadata name.
pub fn is_metadata_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    METADATA_NAMES.contains(&name)
}

/// Whether the name means this machine without any lookup (`localhost`, `*.localhost`).
pub fn is_localhost_name(name: &str) -> bool {
    name == "localhost" || name.ends_with(".localhost")
}

#[cfg(test)]
mod tests;
