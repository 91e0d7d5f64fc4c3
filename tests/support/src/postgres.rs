//! A real PostgreSQL for the tests, started from the installed server binaries.
//!
//! One cluster per test process ([`shared`]), started on first use into a temporary directory
//! on a free loopback port, with a fresh database per test ([`fresh_database`]). Tests that
//! stop and start PostgreSQL get a cluster of their own ([`Cluster::start`]).
//!
//! PostgreSQL refuses to run as root, and CI runs as root: then every server command runs as
//! the `postgres` system user through `runuser`. A watchdog process per cluster waits for the
//! end of the test process (its stdin is a pipe only this process holds) and then stops the
//! server and removes its directory, however the test process ends.
//!
//! Where no server binaries are installed, [`available`] prints a loud SKIPPED banner and the
//! PostgreSQL variants of the tests return early, except under `CI=true`, where they fail.

use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use sqlx::Connection as _;

/// The system user the server runs as when the tests run as root.
const SERVER_USER: &str = "postgres";
/// The cluster's superuser (trust authentication on loopback).
const SUPERUSER: &str = "herald";

/// Settings for a throwaway test cluster: loopback only, no durability (fast), room for many
/// pools at once.
const SERVER_SETTINGS: &[(&str, &str)] = &[
    ("listen_addresses", "'127.0.0.1'"),
    ("max_connections", "300"),
    ("fsync", "off"),
    ("synchronous_commit", "off"),
    ("full_page_writes", "off"),
    ("shared_buffers", "32MB"),
    ("log_min_messages", "warning"),
];

/// Is this run a CI run (where skipping is not allowed)?
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Where the server binaries are: `HERALD_PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`
/// (Debian), else the directory of `pg_ctl` on the `PATH`.
pub fn server_binaries() -> Option<PathBuf> {
    let complete = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| dir.join(b).is_file())
    };
    if let Some(dir) = std::env::var_os("HERALD_PG_BIN") {
        return Some(PathBuf::from(dir)).filter(|d| complete(d));
    }
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, bin)| complete(bin))
        .collect();
    debian.sort();
    if let Some((_, bin)) = debian.pop() {
        return Some(bin);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .filter_map(|dir| std::fs::canonicalize(dir.join("pg_ctl")).ok())
        .filter_map(|pg_ctl| pg_ctl.parent().map(Path::to_path_buf))
        .find(|dir| complete(dir))
}

/// Whether the PostgreSQL tests can run. Without server binaries: fails under CI, otherwise
/// says so loudly (once per process) and returns `false`.
pub fn available(test: &str) -> bool {
    if server_binaries().is_some() {
        return true;
    }
    assert!(
        !in_ci(),
        "CI is set but no PostgreSQL server binaries (initdb, pg_ctl, postgres) were found: \
         install Debian's `postgresql` package or set HERALD_PG_BIN"
    );
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        // Written to the real stderr, past the test harness's output capture.
        let _ = writeln!(
            std::io::stderr(),
            "\n{stars}\n\
             SKIPPED: the PostgreSQL variants of the tests (postgres::*).\n\
             No PostgreSQL server binaries (initdb, pg_ctl, postgres) were found.\n\
             Install Debian's `postgresql` package or set HERALD_PG_BIN to their directory.\n\
             {stars}",
            stars = "*".repeat(76)
        );
    }
    let _ = writeln!(std::io::stderr(), "SKIPPED postgres::{test}: no PostgreSQL");
    false
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// `program` from the server binaries, run as the server user when we are root.
fn server_command(program: &Path) -> Command {
    if running_as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", SERVER_USER, "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run(mut command: Command, what: &str) -> Result<String, String> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: could not run {command:?}: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("{what} failed ({}): {text}", out.status))
    }
}

/// A PostgreSQL cluster in a temporary directory, stopped and removed when dropped or, at the
/// latest, when the test process ends.
pub struct Cluster {
    bin: PathBuf,
    /// The temporary directory (owned by the server user); the data directory is `data` in it.
    dir: PathBuf,
    port: Mutex<u16>,
    watchdog: Mutex<Option<Child>>,
}

impl Cluster {
    /// Creates and starts a cluster of its own (for tests that stop and start the server).
    pub fn start() -> Result<Cluster, String> {
        let bin = server_binaries().ok_or("no PostgreSQL server binaries")?;
        let mut mktemp = server_command(Path::new("mktemp"));
        mktemp.args(["-d", "-t", "herald-pg.XXXXXXXX"]);
        let dir = PathBuf::from(run(mktemp, "mktemp")?.trim());
        let cluster = Cluster {
            watchdog: Mutex::new(Some(spawn_watchdog(&bin, &dir)?)),
            bin,
            dir,
            port: Mutex::new(0),
        };
        let mut initdb = server_command(&cluster.bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(cluster.data_dir())
            .args(["-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C"])
            .args(["--no-sync", "--no-instructions"]);
        run(initdb, "initdb")?;
        let mut conf = String::from("\n# herald tests\n");
        for (name, value) in SERVER_SETTINGS {
            conf.push_str(&format!("{name} = {value}\n"));
        }
        conf.push_str(&format!(
            "unix_socket_directories = '{}'\n",
            cluster.dir.display()
        ));
        append(&cluster.data_dir().join("postgresql.conf"), &conf)?;
        // The free port may be taken between finding and binding it: then try another.
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port()?;
            append(
                &cluster.data_dir().join("postgresql.conf"),
                &format!("port = {port}\n"),
            )?;
            *cluster.port.lock().unwrap() = port;
            match cluster.start_server() {
                Ok(()) => return Ok(cluster),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    pub fn port(&self) -> u16 {
        *self.port.lock().unwrap()
    }

    /// The URL of `database` as the superuser.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@127.0.0.1:{}/{database}",
            self.port()
        )
    }

    fn pg_ctl(&self, args: &[&str]) -> Command {
        let mut c = server_command(&self.bin.join("pg_ctl"));
        c.arg("-D").arg(self.data_dir()).args(args);
        c
    }

    /// Starts the (stopped) server and waits until it accepts connections.
    pub fn start_server(&self) -> Result<(), String> {
        let log = self.dir.join("server.log");
        let mut start = self.pg_ctl(&["-w", "-t", "60", "-l"]);
        start.arg(&log).arg("start");
        run(start, "pg_ctl start").map_err(|e| {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            format!("{e}\nserver log:\n{log}")
        })?;
        Ok(())
    }

    /// Stops the server (fast shutdown: open connections are ended) and waits for it.
    pub fn stop_server(&self) -> Result<(), String> {
        run(self.pg_ctl(&["-w", "-m", "fast", "stop"]), "pg_ctl stop").map(|_| ())
    }

    /// Creates a new empty database and returns its URL.
    pub async fn create_database(&self) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let name = format!("herald_{}", NEXT.fetch_add(1, Ordering::Relaxed));
        let mut conn = sqlx::PgConnection::connect(&self.url("postgres"))
            .await
            .expect("connect to the test cluster");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("CREATE DATABASE");
        conn.close().await.ok();
        self.url(&name)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Closing the watchdog's stdin makes it stop the server and remove the directory.
        if let Some(mut watchdog) = self.watchdog.lock().unwrap().take() {
            drop(watchdog.stdin.take());
            let _ = watchdog.wait();
        }
    }
}

/// A process that waits for EOF on its stdin (the end of the test process, or [`Cluster`]'s
/// drop), then stops the server and removes its directory. It ignores the terminal's signals,
/// so an interrupted test run cleans up too.
fn spawn_watchdog(bin: &Path, dir: &Path) -> Result<Child, String> {
    let script = r#"trap '' INT TERM HUP
read _ignored
"$1/pg_ctl" -D "$2/data" -m immediate -w stop >/dev/null 2>&1
rm -rf "$2""#;
    let mut sh = server_command(Path::new("sh"));
    sh.args(["-c", script, "watchdog"])
        .arg(bin)
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    sh.spawn()
        .map_err(|e| format!("could not start the watchdog: {e}"))
}

fn append(file: &Path, text: &str) -> Result<(), String> {
    std::fs::OpenOptions::new()
        .append(true)
        .open(file)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("could not write {}: {e}", file.display()))
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// The cluster shared by all tests of this process, started on first use.
pub fn shared() -> &'static Cluster {
    static SHARED: OnceLock<Cluster> = OnceLock::new();
    SHARED.get_or_init(|| {
        let started = Instant::now();
        let cluster =
            Cluster::start().unwrap_or_else(|e| panic!("could not start PostgreSQL: {e}"));
        let _ = writeln!(
            std::io::stderr(),
            "PostgreSQL for the tests on 127.0.0.1:{} (started in {:?})",
            cluster.port(),
            started.elapsed()
        );
        cluster
    })
}

/// A new empty database on the shared cluster.
pub async fn fresh_database() -> String {
    let cluster = tokio::task::spawn_blocking(shared).await.unwrap();
    cluster.create_database().await
}
