//! A throw-away PostgreSQL server for the audit-log tests.
//!
//! One server per test binary, started on first use: `initdb` into a
//! temporary directory, `pg_ctl start` on a free port of 127.0.0.1 with its
//! unix socket in that directory, durability off (it is thrown away). Each
//! test gets its own database ([`database`]). The server is stopped and the
//! directory removed when the test process exits: by an `atexit` handler on a
//! normal exit, and by a watchdog shell (which waits for the test process's
//! end on a pipe) if the process dies some other way.
//!
//! PostgreSQL refuses to run as root: when the tests run as root, `initdb`
//! and `pg_ctl` run as the `postgres` user (`runuser -u postgres`).
//!
//! Without PostgreSQL the tests fail, saying how to install it, unless
//! `LLM_TRACED_SKIP_POSTGRES=1` is set: then they print SKIPPED and pass.
//! The binaries are looked up in `$PG_BIN`, `/usr/lib/postgresql/<newest>/bin`,
//! `pg_config --bindir` and `PATH`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

/// Set by the parent for child processes: the URL of the database to use.
pub const URL_ENV: &str = "LLM_AUDIT_TEST_PG_URL";

const INSTALL_HINT: &str = "PostgreSQL is required by these tests: install it \
(`apt-get update && apt-get install -y postgresql`), point PG_BIN at its bin \
directory, or set LLM_TRACED_SKIP_POSTGRES=1 to skip them";

pub struct PgServer {
    root: PathBuf,
    data: PathBuf,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
    watchdog: Mutex<Option<Child>>,
}

static SERVER: OnceLock<PgServer> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// True (after printing SKIPPED) when PostgreSQL tests are to be skipped.
pub fn skipped(test: &str) -> bool {
    if std::env::var("LLM_TRACED_SKIP_POSTGRES").is_ok_and(|v| v == "1") {
        eprintln!("\n*** SKIPPED: {test} (PostgreSQL), because LLM_TRACED_SKIP_POSTGRES=1 ***\n");
        return true;
    }
    false
}

/// A new, empty database on the shared server: its URL. `None` (after
/// printing SKIPPED) when PostgreSQL tests are skipped; panics, saying how
/// to install it, when PostgreSQL is missing.
pub fn database(test: &str) -> Option<String> {
    if skipped(test) {
        return None;
    }
    let server = SERVER.get_or_init(|| PgServer::start().unwrap_or_else(|e| panic!("{e}")));
    let name: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let name = format!("{name}_{}", NEXT_DB.fetch_add(1, Ordering::Relaxed));
    let out = Command::new(server.bin.join("createdb"))
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &server.port.to_string(),
            "-U",
            "postgres",
            &name,
        ])
        .output()
        .unwrap_or_else(|e| panic!("createdb: {e}"));
    assert!(
        out.status.success(),
        "createdb {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(server.url(&name))
}

fn find_bin() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        let dir = PathBuf::from(dir);
        return dir.join("initdb").exists().then_some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && dir.join("initdb").exists() {
            return Some(dir);
        }
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists())
}

fn id(args: &[&str]) -> Option<u32> {
    let out = Command::new("id").args(args).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(55432)
}

/// Quotes `arg` for `sh`.
fn sh_quote(arg: &str) -> String {
    format!("'{}'", arg.replace('\'', r"'\''"))
}

impl PgServer {
    fn start() -> Result<PgServer, String> {
        let bin = find_bin().ok_or_else(|| INSTALL_HINT.to_owned())?;
        let as_postgres = id(&["-u"]) == Some(0);
        let unique = format!(
            "llm-traced-pg-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        );
        let root = std::env::temp_dir().join(unique);
        std::fs::create_dir_all(root.join("sock"))
            .map_err(|e| format!("{}: {e}", root.display()))?;
        if as_postgres {
            let uid = id(&["-u", "postgres"]).ok_or("no `postgres` user to run PostgreSQL as")?;
            let gid = id(&["-g", "postgres"]).ok_or("no `postgres` group")?;
            for dir in [root.clone(), root.join("sock")] {
                std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                    .map_err(|e| format!("chown {}: {e}", dir.display()))?;
            }
        }
        let mut server = PgServer {
            data: root.join("data"),
            root,
            bin,
            port: 0,
            as_postgres,
            watchdog: Mutex::new(None),
        };
        let data = server.data.to_string_lossy().into_owned();
        server.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        server.start_watchdog();
        let mut last_error = String::new();
        for _ in 0..5 {
            server.port = free_port();
            let options = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
                 -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
                server.port,
                server.root.join("sock").display()
            );
            let log = server
                .root
                .join("server.log")
                .to_string_lossy()
                .into_owned();
            match server.run(
                "pg_ctl",
                &[
                    "-D", &data, "-l", &log, "-w", "-t", "60", "-o", &options, "start",
                ],
            ) {
                Ok(()) => {
                    register_stop_at_exit();
                    return Ok(server);
                }
                Err(e) => {
                    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
                    last_error = format!("{e}\n{log_text}");
                }
            }
        }
        server.stop();
        Err(format!("cannot start PostgreSQL: {last_error}"))
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let exe = self.bin.join(program).to_string_lossy().into_owned();
        if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--", &exe]).args(args);
            cmd
        } else {
            let mut cmd = Command::new(exe);
            cmd.args(args);
            cmd
        }
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let out = self
            .command(program, args)
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("{program}: {e} ({INSTALL_HINT})"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// A shell that waits for this process to end (EOF on its stdin, whose
    /// other end only this process holds) and then stops the server and
    /// removes the directory: the safety net for a test process killed.
    fn start_watchdog(&self) {
        let pg_ctl = self.bin.join("pg_ctl").to_string_lossy().into_owned();
        let data = self.data.to_string_lossy().into_owned();
        let stop = format!(
            "{} -D {} -m immediate -w stop",
            sh_quote(&pg_ctl),
            sh_quote(&data)
        );
        let stop = if self.as_postgres {
            format!("runuser -u postgres -- {stop}")
        } else {
            stop
        };
        let script = format!(
            "cat >/dev/null; if [ -d {data} ]; then {stop} >/dev/null 2>&1; rm -rf {root}; fi",
            data = sh_quote(&data),
            root = sh_quote(&self.root.to_string_lossy()),
        );
        let child = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        if let Ok(child) = child {
            *self.watchdog.lock().unwrap() = Some(child);
        }
    }

    fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Stops the server (waiting for it) and removes its directory.
    fn stop(&self) {
        if self.data.exists() {
            let data = self.data.to_string_lossy().into_owned();
            let _ = self.run(
                "pg_ctl",
                &["-D", &data, "-m", "fast", "-w", "-t", "30", "stop"],
            );
        }
        let _ = std::fs::remove_dir_all(&self.root);
        // Let the watchdog go: closing its stdin ends its wait.
        if let Ok(mut guard) = self.watchdog.lock() {
            if let Some(mut child) = guard.take() {
                drop(child.stdin.take());
                let _ = child.wait();
            }
        }
    }
}

extern "C" {
    fn atexit(callback: extern "C" fn()) -> std::os::raw::c_int;
}

extern "C" fn stop_at_exit() {
    let _ = std::panic::catch_unwind(|| {
        if let Some(server) = SERVER.get() {
            server.stop();
        }
    });
}

fn register_stop_at_exit() {
    static REGISTERED: std::sync::Once = std::sync::Once::new();
    REGISTERED.call_once(|| {
        // SAFETY: registers a plain `extern "C" fn()` that captures nothing and
        // catches every panic, so none unwinds into C.
        unsafe {
            atexit(stop_at_exit);
        }
    });
}

/// Whether `path` is inside the server's directory (for tests that check
/// cleanup).
pub fn server_root() -> Option<&'static Path> {
    SERVER.get().map(|s| s.root.as_path())
}
