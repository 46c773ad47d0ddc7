//! A throw-away PostgreSQL cluster for tests; rule: it listens on 127.0.0.1 only, trusts local connections, keeps its data in its own temp dir, and never outlives the test process (a watchdog stops it and removes the dir when the process ends, however it ends).
//!
//! The cluster is made with Debian's `initdb` and run with `pg_ctl`. PostgreSQL refuses to run as
//! root, so under uid 0 both (and the watchdog) run as `nobody`, which then owns the temp dir.
//!
//! The watchdog is a small `sh` reading its stdin, a pipe whose only writer is the test process:
//! when that process exits (normally, by panic, by signal or SIGKILL) the pipe closes, `read`
//! returns, and the watchdog runs `pg_ctl stop -m immediate` and removes the dir. Dropping a
//! [`PgServer`], and an `atexit` hook for the never-dropped [`PgServer::shared`] one, close the
//! pipe and wait for the watchdog, so nothing is left running once the test binary has exited.

use std::ffi::CString;
use std::io::Read;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// Where Debian installs each PostgreSQL major version (`<dir>/<version>/bin`).
pub const DEBIAN_PG_ROOT: &str = "/usr/lib/postgresql";

const START_ATTEMPTS: usize = 5;
const START_TIMEOUT_SECONDS: u32 = 60;
const DIR_PREFIX: &str = "relaywatch-testkit-pg-";

/// The watchdog: waits for EOF on stdin, then stops the cluster in `$1/data` and removes `$1`.
/// `$0` is the `pg_ctl` to use. Terminal signals are ignored so Ctrl-C on `cargo test` reaches
/// the cleanup (it also runs in its own process group).
const WATCHDOG_SCRIPT: &str = "trap '' INT QUIT HUP TERM; \
    while read -r _; do :; done; \
    \"$0\" -D \"$1/data\" stop -m immediate -w >/dev/null 2>&1; \
    rm -rf \"$1\"";

/// A running PostgreSQL cluster on a free loopback port, user `postgres`, trust authentication.
pub struct PgServer {
    port: u16,
    dir: PathBuf,
    bin: PathBuf,
    run_as: Option<(u32, u32)>,
    watchdog: u64,
    next_db: AtomicU64,
}

impl PgServer {
    /// Makes a new cluster in a fresh temp dir and starts it on a free loopback port (retrying
    /// with another port when the chosen one is taken meanwhile). The error names what is
    /// missing or what failed, with the tail of PostgreSQL's log.
    pub fn start() -> Result<PgServer, String> {
        let bin = find_bin_dir()?;
        let run_as = run_as_user()?;
        let dir = make_temp_dir(run_as)?;
        // From here on the watchdog removes the dir, whatever fails next.
        let watchdog = spawn_watchdog(&bin, &dir, run_as)?;
        let mut server = PgServer {
            port: 0,
            dir,
            bin,
            run_as,
            watchdog,
            next_db: AtomicU64::new(1),
        };
        server.init_db()?;
        let mut last_error = String::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_port()?;
            match server.start_on(port) {
                Ok(()) => {
                    server.port = port;
                    return Ok(server);
                }
                Err(e) => last_error = e,
            }
        }
        Err(format!(
            "could not start PostgreSQL after {START_ATTEMPTS} attempts: {last_error}"
        ))
    }

    /// One cluster per test binary, started on first use and stopped when the process exits
    /// (atexit hook, or the watchdog). Tests isolate themselves with [`fresh_database`].
    /// Panics with [`PgServer::start`]'s message when it cannot start.
    pub fn shared() -> &'static PgServer {
        static SHARED: OnceLock<PgServer> = OnceLock::new();
        SHARED.get_or_init(|| PgServer::start().unwrap_or_else(|e| panic!("{e}")))
    }

    /// The TCP port (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The temp dir holding the cluster (`data/`), its log (`log`) and its Unix socket.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `postgres://postgres@127.0.0.1:{port}/postgres`.
    pub fn url(&self) -> String {
        self.url_db("postgres")
    }

    /// `postgres://postgres@127.0.0.1:{port}/{database}`.
    pub fn url_db(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates database `name` (owned by `postgres`) and returns its URL. Panics when the name
    /// is not a plain identifier (`[a-z_][a-z0-9_]*`) or the database cannot be created.
    pub async fn create_database(&self, name: &str) -> String {
        assert!(
            is_plain_identifier(name),
            "create_database: {name:?} is not a plain identifier ([a-z_][a-z0-9_]*)"
        );
        let client = connect(&self.url()).await;
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name} failed: {e}"));
        self.url_db(name)
    }

    /// Creates a database no other caller of this method got (`test_1`, `test_2`, …) and
    /// returns its URL.
    pub async fn fresh_database(&self) -> String {
        let n = self.next_db.fetch_add(1, Ordering::SeqCst);
        self.create_database(&format!("test_{n}")).await
    }

    fn init_db(&self) -> Result<(), String> {
        let mut cmd = self.command("initdb");
        cmd.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"])
            .arg("--no-sync");
        let out = output(cmd, "initdb")?;
        if out.status.success() {
            return Ok(());
        }
        Err(format!(
            "initdb in {} failed ({}): {}",
            self.dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }

    fn start_on(&self, port: u16) -> Result<(), String> {
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off",
            self.dir.display()
        );
        let mut cmd = self.command("pg_ctl");
        cmd.arg("-D")
            .arg(self.dir.join("data"))
            .arg("-o")
            .arg(options)
            .arg("-w")
            .arg("-t")
            .arg(START_TIMEOUT_SECONDS.to_string())
            .arg("start")
            .arg("-l")
            .arg(self.dir.join("log"));
        let out = output(cmd, "pg_ctl")?;
        if out.status.success() {
            return Ok(());
        }
        // A failed start may leave a half-started postmaster; make sure it is gone.
        let mut stop = self.command("pg_ctl");
        stop.arg("-D")
            .arg(self.dir.join("data"))
            .args(["stop", "-m", "immediate", "-w"]);
        let _ = output(stop, "pg_ctl");
        Err(format!(
            "pg_ctl start on port {port} failed ({}): {} | log: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            log_tail(&self.dir.join("log"), 5)
        ))
    }

    /// `bin/<program>` run as the cluster's owner, in the temp dir, output captured.
    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(program));
        cmd.current_dir(&self.dir)
            .stdin(Stdio::null())
            .env("LC_ALL", "C")
            .env_remove("PGDATA")
            .env_remove("PGPORT")
            .env_remove("PGHOST");
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid).gid(gid);
        }
        cmd
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        finish_watchdog(self.watchdog);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `PgServer::shared().fresh_database()`: a new, empty database on the shared cluster.
pub async fn fresh_database() -> String {
    PgServer::shared().fresh_database().await
}

/// Connects without TLS and drives the connection on a spawned task of the current Tokio
/// runtime. Panics when the connection fails.
pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// `[a-z_][a-z0-9_]*`, under 64 bytes: safe to splice into SQL unquoted.
pub(crate) fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_lowercase())
        && chars.all(|c| c == '_' || c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.len() < 64
}

/// The directory holding `initdb` and `pg_ctl`: Debian's highest installed version, else the
/// directory of an `initdb` on PATH (following symlinks, so `pg_ctl` is its sibling).
fn find_bin_dir() -> Result<PathBuf, String> {
    find_bin_dir_in(Path::new(DEBIAN_PG_ROOT), std::env::var_os("PATH"))
}

fn find_bin_dir_in(root: &Path, path: Option<std::ffi::OsString>) -> Result<PathBuf, String> {
    let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir(root)
        .map(|entries| entries.flatten().map(|e| e.path()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.join("bin/initdb").is_file() && p.join("bin/pg_ctl").is_file())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?;
            let version = name
                .split('.')
                .map(|s| s.parse().ok())
                .collect::<Option<_>>()?;
            Some((version, p.join("bin")))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    let on_path = path
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join("initdb"))
        .find(|p| p.is_file());
    let Some(initdb) = on_path else {
        return Err(format!(
            "initdb not found (neither {}/<version>/bin/initdb nor on PATH): \
             install Debian's postgresql package (scripts/setup --deps)",
            root.display()
        ));
    };
    let real = std::fs::canonicalize(&initdb).unwrap_or(initdb);
    let bin = real.parent().map(Path::to_path_buf).unwrap_or_default();
    if !bin.join("pg_ctl").is_file() {
        return Err(format!(
            "pg_ctl not found next to {}: install Debian's postgresql package \
             (scripts/setup --deps)",
            real.display()
        ));
    }
    Ok(bin)
}

/// `Some((uid, gid))` of `nobody` when this process is root (PostgreSQL refuses to run as
/// root), `None` otherwise.
fn run_as_user() -> Result<Option<(u32, u32)>, String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let name = CString::new("nobody").map_err(|e| e.to_string())?;
    // SAFETY: getpwnam gets a NUL-terminated name; the returned record is read at once, before
    // any other getpw* call could overwrite it.
    let ids = unsafe {
        let pw = libc::getpwnam(name.as_ptr());
        if pw.is_null() {
            None
        } else {
            Some(((*pw).pw_uid, (*pw).pw_gid))
        }
    };
    Ok(Some(ids.unwrap_or((65534, 65534))))
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot bind a loopback port to pick a free one: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("cannot read the bound port: {e}"))
}

/// A new empty dir `<temp>/relaywatch-testkit-pg-<pid>-<n>` (short: the Unix socket path must
/// fit in 107 bytes), owned by `run_as` when given.
fn make_temp_dir(run_as: Option<(u32, u32)>) -> Result<PathBuf, String> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "{DIR_PREFIX}{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    // A dir of the same name is left from an earlier process with the same pid: its watchdog
    // has already stopped that cluster or is about to, so the name can be reused.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("cannot create temp dir {}: {e}", dir.display()))?;
    if let Some((uid, gid)) = run_as {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).map_err(|e| {
            format!(
                "cannot hand temp dir {} to uid {uid} (PostgreSQL refuses to run as root): {e}",
                dir.display()
            )
        })?;
    }
    Ok(dir)
}

/// Runs `cmd` to completion, capturing its output; a missing program is named.
fn output(mut cmd: Command, what: &str) -> Result<std::process::Output, String> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            format!("{what} not found: install Debian's postgresql package (scripts/setup --deps)")
        } else {
            format!("cannot run {what}: {e}")
        }
    })
}

fn log_tail(path: &Path, lines: usize) -> String {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        let _ = f.read_to_string(&mut text);
    }
    let tail: Vec<&str> = text.lines().rev().take(lines).collect();
    tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
}

struct Watchdog {
    id: u64,
    stdin: ChildStdin,
    child: Child,
}

fn watchdogs() -> &'static Mutex<Vec<Watchdog>> {
    static WATCHDOGS: OnceLock<Mutex<Vec<Watchdog>>> = OnceLock::new();
    WATCHDOGS.get_or_init(|| Mutex::new(Vec::new()))
}

/// Starts the watchdog for `dir` and registers it (and, once, the atexit hook).
fn spawn_watchdog(bin: &Path, dir: &Path, run_as: Option<(u32, u32)>) -> Result<u64, String> {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    static ATEXIT: OnceLock<()> = OnceLock::new();
    ATEXIT.get_or_init(|| {
        // SAFETY: registers a plain extern "C" function that never unwinds.
        unsafe {
            libc::atexit(finish_all_watchdogs);
        }
    });
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(WATCHDOG_SCRIPT)
        .arg(bin.join("pg_ctl"))
        .arg(dir)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    if let Some((uid, gid)) = run_as {
        cmd.uid(uid).gid(gid);
    }
    let mut child = cmd.spawn().map_err(|e| {
        let _ = std::fs::remove_dir_all(dir);
        format!("cannot start the PostgreSQL watchdog (sh): {e}")
    })?;
    let Some(stdin) = child.stdin.take() else {
        return Err("the PostgreSQL watchdog has no stdin pipe".to_string());
    };
    let id = NEXT_ID.fetch_add(1, Ordering::SeqCst);
    let mut list = watchdogs().lock().unwrap_or_else(|e| e.into_inner());
    list.push(Watchdog { id, stdin, child });
    Ok(id)
}

/// Closes watchdog `id`'s pipe and waits until it has stopped the cluster and removed the dir.
fn finish_watchdog(id: u64) {
    let found = {
        let mut list = watchdogs().lock().unwrap_or_else(|e| e.into_inner());
        list.iter()
            .position(|w| w.id == id)
            .map(|i| list.swap_remove(i))
    };
    if let Some(watchdog) = found {
        watchdog.finish();
    }
}

extern "C" fn finish_all_watchdogs() {
    let all = {
        let mut list = watchdogs().lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut *list)
    };
    for watchdog in all {
        watchdog.finish();
    }
}

impl Watchdog {
    fn finish(self) {
        let Watchdog {
            stdin, mut child, ..
        } = self;
        drop(stdin);
        let _ = child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("{DIR_PREFIX}unit-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn touch(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"").unwrap();
    }

    #[test]
    fn highest_debian_version_wins_over_path() {
        let root = scratch("versions");
        for version in ["9.6", "15", "16"] {
            touch(&root.join(version).join("bin/initdb"));
            touch(&root.join(version).join("bin/pg_ctl"));
        }
        // 17 has no pg_ctl: not a usable version.
        touch(&root.join("17/bin/initdb"));
        let on_path = root.join("elsewhere");
        touch(&on_path.join("initdb"));
        touch(&on_path.join("pg_ctl"));
        let found = find_bin_dir_in(&root, Some(on_path.clone().into_os_string()));
        assert_eq!(found, Ok(root.join("16/bin")));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn initdb_on_path_is_used_when_debian_has_none() {
        let root = scratch("path");
        let bin = root.join("bin");
        touch(&bin.join("initdb"));
        touch(&bin.join("pg_ctl"));
        let path = std::env::join_paths([root.join("empty"), bin.clone()]).unwrap();
        assert_eq!(find_bin_dir_in(&root.join("none"), Some(path)), Ok(bin));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn missing_initdb_names_the_package_and_setup() {
        let root = scratch("missing");
        let err = find_bin_dir_in(&root, Some(root.clone().into_os_string())).unwrap_err();
        assert!(err.starts_with("initdb not found"), "{err}");
        assert!(
            err.contains("postgresql package (scripts/setup --deps)"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn plain_identifiers_only() {
        for ok in ["log_records", "_x", "test_12"] {
            assert!(is_plain_identifier(ok), "{ok}");
        }
        for bad in ["", "1abc", "Log", "a-b", "a;drop", "a b", &"x".repeat(64)] {
            assert!(!is_plain_identifier(bad), "{bad}");
        }
    }
}
