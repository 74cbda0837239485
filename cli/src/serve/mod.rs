//! `serve`: a local web viewer of what was recorded: the calls, a trace's
//! tree and timeline, a call as a chat, a session, and the stats with
//! charts. Server-rendered HTML with a little plain JavaScript, all of it
//! embedded in the binary; read-only; new calls appear live.
//!
//! - [`load`]: finding and (re)reading the inputs;
//! - [`index`]: the in-memory metadata index;
//! - [`query`]: the filters in the URL;
//! - [`list`], [`trace`], [`call`], [`chat`], [`session`], [`stats`]: the views;
//! - [`scores`]: the scores beside conversations and in logs, per call;
//! - [`search`]: the text search over the bodies;
//! - [`live`]: polling the inputs and the server-sent events;
//! - [`guard`]: the `Host` check and the access token;
//! - [`routes`]: the URLs.

pub mod call;
pub mod chat;
pub mod guard;
pub mod html;
pub mod index;
pub mod list;
pub mod live;
pub mod load;
pub mod query;
pub mod routes;
pub mod scores;
pub mod search;
pub mod session;
pub mod stats;
pub mod trace;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use clap::Args;

use crate::exit::{Failure, Outcome};

/// `serve`'s arguments.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Conversation directories and/or JSON-lines logs (a `{tenant}`
    /// template too). Default: $LLM_CONVERSATIONS_DIR or ./llm_conversations,
    /// and $LLM_LOG_FILE when set.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Also read each log's rotated files.
    #[arg(long)]
    pub rotated: bool,
    /// The port (0 picks a free one).
    #[arg(long, default_value_t = 7300, value_name = "N")]
    pub port: u16,
    /// The address to listen on. Anything but loopback requires the access
    /// token printed in the URL, and makes recorded prompts reachable from
    /// the network.
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    pub bind: IpAddr,
    /// Another accepted `Host` name (repeatable), e.g. the machine's name.
    #[arg(long, value_name = "NAME")]
    pub allow_host: Vec<String>,
    /// Open the viewer in the default browser.
    #[arg(long)]
    pub open: bool,
    /// How often to look for new calls, in milliseconds.
    #[arg(
        long,
        default_value_t = 1000,
        value_name = "MS",
        hide_short_help = true
    )]
    pub poll_ms: u64,
}

/// What every request can reach.
pub struct App {
    /// The index.
    pub index: RwLock<Index>,
    /// The inputs, polled for new calls.
    pub loader: Mutex<load::Loader>,
    /// New calls and calls newly scored, by entry id.
    pub live: tokio::sync::broadcast::Sender<live::Change>,
    /// Text searches.
    pub search: search::Searcher,
    /// The `Host` check and the token.
    pub guard: guard::Guard,
    /// The inputs, for people.
    pub inputs: Vec<String>,
}

use index::Index;

/// The inputs to read: the paths given, else the defaults.
fn inputs(args: &ServeArgs) -> Result<Vec<load::Input>, Failure> {
    let mut out = Vec::new();
    if args.paths.is_empty() {
        let dir = std::env::var_os("LLM_CONVERSATIONS_DIR")
            .filter(|d| !d.is_empty())
            .map_or_else(|| PathBuf::from("llm_conversations"), PathBuf::from);
        out.push(load::Input::from_path(&dir, false).map_err(Failure::Input)?);
        if let Some(log) = std::env::var_os("LLM_LOG_FILE").filter(|l| !l.is_empty()) {
            out.push(load::Input::log(PathBuf::from(log)));
        }
    } else {
        for p in &args.paths {
            out.push(load::Input::from_path(p, true).map_err(Failure::Input)?);
        }
    }
    Ok(out)
}

fn label(input: &load::Input) -> String {
    match input {
        load::Input::Dir(p)
        | load::Input::Log(p)
        | load::Input::Template(p)
        | load::Input::Conversation(p) => p.display().to_string(),
    }
}

/// Runs `serve` until interrupted.
pub fn run(args: &ServeArgs) -> Result<Outcome, Failure> {
    let inputs = inputs(args)?;
    let labels: Vec<String> = inputs.iter().map(label).collect();
    let started = Instant::now();
    let mut loader = load::Loader::new(inputs, args.rotated);
    let index = RwLock::new(Index::default());
    loader.poll(&index);
    let (calls, skipped) = {
        let i = index.read().unwrap_or_else(|e| e.into_inner());
        (i.entries.len(), i.skipped_count)
    };
    eprintln!(
        "llm-traced serve: {} call{} indexed from {} in {:.2} s{}",
        crate::render::count(calls as u64),
        if calls == 1 { "" } else { "s" },
        labels.join(", "),
        started.elapsed().as_secs_f64(),
        if skipped > 0 {
            format!(" ({skipped} input(s) skipped: see /skipped)")
        } else {
            String::new()
        }
    );

    let loopback = args.bind.is_loopback();
    let token = if loopback {
        None
    } else {
        Some(guard::new_token().map_err(Failure::Input)?)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::Input(format!("cannot start the server: {e}")))?;
    let result = runtime.block_on(async move {
        let addr = SocketAddr::new(args.bind, args.port);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Failure::Input(format!("cannot listen on {addr}: {e}")))?;
        let local = listener
            .local_addr()
            .map_err(|e| Failure::Input(format!("cannot listen on {addr}: {e}")))?;
        let mut hosts: Vec<String> = vec!["127.0.0.1".into(), "localhost".into(), "::1".into()];
        if !args.bind.is_unspecified() {
            hosts.push(args.bind.to_string().to_ascii_lowercase());
        }
        hosts.extend(
            args.allow_host
                .iter()
                .map(|h| h.trim().to_ascii_lowercase()),
        );
        let (live, _) = tokio::sync::broadcast::channel(4096);
        let app = Arc::new(App {
            index,
            loader: Mutex::new(loader),
            live,
            search: search::Searcher::default(),
            guard: guard::Guard {
                port: local.port(),
                hosts,
                token: token.clone(),
            },
            inputs: labels,
        });
        live::spawn_watcher(app.clone(), Duration::from_millis(args.poll_ms.max(50)));
        let shown_host = match args.bind {
            IpAddr::V4(a) if a.is_unspecified() || a.is_loopback() => {
                IpAddr::V4(Ipv4Addr::LOCALHOST).to_string()
            }
            IpAddr::V4(a) => a.to_string(),
            IpAddr::V6(a) if a.is_loopback() || a.is_unspecified() => "[::1]".to_owned(),
            IpAddr::V6(a) => format!("[{a}]"),
        };
        let url = match &token {
            Some(t) => format!("http://{shown_host}:{}/?token={t}", local.port()),
            None => format!("http://{shown_host}:{}/", local.port()),
        };
        if !loopback {
            eprintln!(
                "llm-traced serve: WARNING: listening on {local}: the recorded prompts and \
                 responses are reachable from the network by anyone with the URL below."
            );
            if args.bind.is_unspecified() {
                eprintln!(
                    "llm-traced serve: requests must name this machine with --allow-host NAME \
                     (or use 127.0.0.1/localhost)."
                );
            }
        }
        // Listen for Ctrl-C before the URL shows: a signal sent as soon as
        // it shows must stop the server, not kill it.
        #[cfg(unix)]
        let mut interrupt =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
                .map_err(|e| Failure::Input(format!("cannot listen for Ctrl-C: {e}")))?;
        let stopped = async move {
            #[cfg(unix)]
            interrupt.recv().await;
            #[cfg(not(unix))]
            let _ = tokio::signal::ctrl_c().await;
        };
        eprintln!("llm-traced serve: {url}");
        if args.open {
            open_browser(&url);
        }
        // Ctrl-C stops at once: open event streams never end by themselves,
        // and nothing is written that would need finishing.
        tokio::select! {
            served = std::future::IntoFuture::into_future(axum::serve(listener, routes::router(app))) => {
                served.map_err(|e| Failure::Input(format!("the server failed: {e}")))?;
            }
            () = stopped => eprintln!("llm-traced serve: stopped"),
        }
        Ok(Outcome::Clean)
    });
    runtime.shutdown_timeout(Duration::from_millis(200));
    result
}

/// Threads that read many small files (start-up, search): more than the
/// cores, so that reads from a cold disk overlap (`LLM_TRACED_IO_THREADS`
/// overrides).
pub fn io_threads() -> usize {
    std::env::var("LLM_TRACED_IO_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or_else(|| 4 * std::thread::available_parallelism().map_or(2, |n| n.get()))
        .clamp(1, 64)
}

fn open_browser(url: &str) {
    let program = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    if let Err(e) = std::process::Command::new(program)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        eprintln!(
            "llm-traced serve: could not open a browser ({program}: {e}); open the URL yourself"
        );
    }
}
