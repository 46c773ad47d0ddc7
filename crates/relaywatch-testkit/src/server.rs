//! A throw-away `redis-server` for tests; rule: it listens on 127.0.0.1 only, persists nothing, and never outlives the test process (killed on Drop, and by PR_SET_PDEATHSIG on Linux when a static is never dropped).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Message used whenever the binary is missing.
pub const NOT_FOUND_MESSAGE: &str =
    "redis-server not found: install it with `apt-get install -y redis-server`";

/// Logical databases the server is started with, so tests sharing one server
/// can each take their own DB (see [`RedisServer::fresh_db`]).
pub const DATABASES: u32 = 256;

const READY_TIMEOUT: Duration = Duration::from_secs(15);
const START_ATTEMPTS: usize = 8;

/// A `redis-server` child process bound to a free loopback port.
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    child: Mutex<Option<Child>>,
    next_db: AtomicU32,
}

impl RedisServer {
    /// Starts a new server on a free loopback port and waits until it answers
    /// PING. Panics with a clear message when that is impossible.
    pub fn start() -> RedisServer {
        let dir = make_temp_dir();
        let mut last_error = String::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_port();
            match spawn_and_wait(port, &dir) {
                Ok(child) => {
                    return RedisServer {
                        port,
                        dir,
                        child: Mutex::new(Some(child)),
                        next_db: AtomicU32::new(1),
                    }
                }
                Err(e) => last_error = e,
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        panic!("could not start redis-server after {START_ATTEMPTS} attempts: {last_error}");
    }

    /// One server per test binary, started on first use and never dropped
    /// (PR_SET_PDEATHSIG kills it when the test process exits). Tests isolate
    /// themselves with [`RedisServer::fresh_db`]. Do not call
    /// [`RedisServer::stop`] on it: other tests are using it.
    pub fn shared() -> &'static RedisServer {
        static SHARED: OnceLock<RedisServer> = OnceLock::new();
        SHARED.get_or_init(RedisServer::start)
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:{port}` (database 0).
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// `redis://127.0.0.1:{port}/{db}`.
    pub fn url_db(&self, db: u32) -> String {
        format!("redis://127.0.0.1:{}/{db}", self.port)
    }

    /// A URL naming a logical database no other caller of this method got,
    /// emptied with FLUSHDB first. Databases 1..=255 are handed out in turn;
    /// panics when they are used up (database 0 is left for ad-hoc use).
    pub fn fresh_db(&self) -> String {
        let db = self.next_db.fetch_add(1, Ordering::SeqCst);
        assert!(
            db < DATABASES,
            "RedisServer::fresh_db: all {} logical databases of this server are used; start another RedisServer",
            DATABASES - 1
        );
        let url = self.url_db(db);
        let client = redis::Client::open(url.as_str())
            .unwrap_or_else(|e| panic!("bad redis url {url}: {e}"));
        let mut con = client
            .get_connection()
            .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
        redis::cmd("FLUSHDB")
            .exec(&mut con)
            .unwrap_or_else(|e| panic!("FLUSHDB on {url} failed: {e}"));
        url
    }

    /// True while the child process is running.
    pub fn is_running(&self) -> bool {
        let mut guard = self.child.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Freezes the server (SIGSTOP): it keeps its data and its port, but answers nothing —
    /// clients see timeouts, as during a network partition. [`RedisServer::resume`] ends it.
    pub fn pause(&self) {
        self.send_signal(libc::SIGSTOP);
    }

    /// Lets a paused server run again (SIGCONT); it answers what was sent meanwhile.
    pub fn resume(&self) {
        self.send_signal(libc::SIGCONT);
    }

    fn send_signal(&self, sig: i32) {
        let guard = self.child.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(child) = guard.as_ref() {
            // SAFETY: kill(2) on our own child's pid; no memory is touched.
            unsafe {
                libc::kill(child.id() as i32, sig);
            }
        }
    }

    /// Kills the server (SIGKILL) and waits for it, keeping the port number so
    /// that [`RedisServer::start_again`] can come back on it. Data is lost.
    pub fn stop(&self) {
        let mut guard = self.child.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(mut child) = guard.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port after [`RedisServer::stop`]
    /// (waits up to a few seconds for the port to become free). The new server
    /// is empty. Panics if it cannot come back.
    pub fn start_again(&self) {
        let mut guard = self.child.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(child) = guard.as_mut() {
            if matches!(child.try_wait(), Ok(None)) {
                return;
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match spawn_and_wait(self.port, &self.dir) {
                Ok(child) => {
                    *guard = Some(child);
                    return;
                }
                Err(e) if Instant::now() >= deadline => {
                    panic!(
                        "redis-server could not start again on port {}: {e}",
                        self.port
                    )
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `RedisServer::shared().fresh_db()`.
pub fn fresh_db() -> String {
    RedisServer::shared().fresh_db()
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0")
        .unwrap_or_else(|e| panic!("cannot bind a loopback port to pick a free one: {e}"));
    listener
        .local_addr()
        .unwrap_or_else(|e| panic!("cannot read the bound port: {e}"))
        .port()
}

/// Removes server directories left by test processes that are gone (a
/// never-dropped shared server cannot remove its own).
fn remove_stale_dirs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        if !Path::new("/proc/self").exists() {
            return;
        }
        let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(rest) = name
                .to_str()
                .and_then(|n| n.strip_prefix("relaywatch-testkit-redis-"))
            else {
                continue;
            };
            let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    });
}

fn make_temp_dir() -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    remove_stale_dirs();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "relaywatch-testkit-redis-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create temp dir {}: {e}", dir.display()));
    dir
}

fn server_command(port: u16, dir: &Path) -> Command {
    let mut cmd = Command::new("redis-server");
    cmd.arg("--port")
        .arg(port.to_string())
        .arg("--bind")
        .arg("127.0.0.1")
        .arg("--save")
        .arg("")
        .arg("--appendonly")
        .arg("no")
        .arg("--dir")
        .arg(dir)
        .arg("--databases")
        .arg(DATABASES.to_string())
        .arg("--daemonize")
        .arg("no")
        .arg("--logfile")
        .arg(dir.join(format!("redis-{port}.log")))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

fn spawn_and_wait(port: u16, dir: &Path) -> Result<Child, String> {
    let mut child = spawn(server_command(port, dir))?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let log =
                std::fs::read_to_string(dir.join(format!("redis-{port}.log"))).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(5).collect();
            return Err(format!(
                "redis-server on port {port} exited with {status}: {}",
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ));
        }
        if ping(addr) {
            return Ok(child);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "redis-server on port {port} did not answer PING in time"
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn ping(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    match stream.read(&mut buf) {
        Ok(n) => buf[..n].starts_with(b"+PONG"),
        Err(_) => false,
    }
}

type SpawnReply = mpsc::Sender<std::io::Result<Child>>;

/// Spawns through one long-lived helper thread. PR_SET_PDEATHSIG fires when
/// the *thread* that forked the child exits, and test threads are short-lived,
/// so children are always forked from a thread that lives as long as the
/// process.
fn spawn(cmd: Command) -> Result<Child, String> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<(Command, SpawnReply)>>> = OnceLock::new();
    let sender = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<(Command, SpawnReply)>();
        std::thread::Builder::new()
            .name("relaywatch-testkit-spawner".into())
            .spawn(move || {
                while let Ok((mut cmd, reply)) = rx.recv() {
                    set_parent_death_signal(&mut cmd);
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("cannot start the redis-server spawner thread");
        Mutex::new(tx)
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    sender
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send((cmd, reply_tx))
        .map_err(|_| "the redis-server spawner thread is gone".to_string())?;
    match reply_rx.recv() {
        Ok(Ok(child)) => Ok(child),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => panic!("{NOT_FOUND_MESSAGE}"),
        Ok(Err(e)) => Err(format!("cannot spawn redis-server: {e}")),
        Err(_) => Err("the redis-server spawner thread is gone".to_string()),
    }
}

#[cfg(target_os = "linux")]
fn set_parent_death_signal(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: getpid is async-signal-safe and is called before the fork.
    let parent = unsafe { libc::getpid() };
    // SAFETY: only async-signal-safe calls (prctl, getppid, _exit) run in the
    // child between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn set_parent_death_signal(_cmd: &mut Command) {}
