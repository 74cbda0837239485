//! The background-writer machinery, written once: a bounded queue, the
//! back-pressure policy, batching, flushing and the at-exit protocol.
//!
//! Each writer (the record files: conversation files and the JSON log; the
//! audit log) is a [`Job`] run by one [`Worker`] thread. Callers hand items
//! over a bounded queue without a system call: the thread is never woken for
//! an item alone. It drains the queue, calls [`Job::flush`] once per batch,
//! then parks, 1 ms after a busy spell and backing off to 100 ms when idle; a
//! flush request or a full queue unparks it at once.
//!
//! With a full queue, [`Policy::Lossless`] makes the caller wait for room and
//! [`Policy::Lossy`] drops the item and counts it ([`Worker::dropped`]).
//!
//! Statics are never dropped, so the first worker to start registers one C
//! `atexit` handler that drains every worker: it waits while the worker makes
//! progress (at most [`EXIT_STALL`] without progress, [`EXIT_LIMIT`] in all),
//! so that nothing is lost on a healthy disk and a hung disk cannot hang the
//! exit for long.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// At exit, the longest a worker may go without handling an item before the
/// exit handler gives up on it.
pub(crate) const EXIT_STALL: Duration = Duration::from_secs(5);
/// At exit, the longest the handler waits for one worker in all.
pub(crate) const EXIT_LIMIT: Duration = Duration::from_secs(60);

/// What a worker thread does with the items handed to it.
pub(crate) trait Job: Send + 'static {
    /// What callers hand over.
    type Item: Send + 'static;
    /// Handles one item. Must not panic; an I/O failure is reported by the
    /// job itself (once) and the item is lost.
    fn handle(&mut self, item: Self::Item);
    /// Makes what was handled durable (flushes buffers): after each batch
    /// and before a flush request is answered.
    fn flush(&mut self) {}
    /// Told after a batch when items were dropped since the last report.
    fn report_dropped(&mut self, _new: u64, _total: u64) {}
}

/// What happens when the queue is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Policy {
    /// The caller waits for room: nothing is lost.
    Lossless,
    /// The item is dropped and counted.
    Lossy,
}

enum Message<T> {
    Item(T),
    Flush(mpsc::Sender<()>),
}

/// A background writer: the sending half and the thread to unpark.
pub(crate) struct Worker<T> {
    sender: SyncSender<Message<T>>,
    policy: Policy,
    thread: Thread,
    counters: Arc<Counters>,
    registered: std::sync::Once,
}

/// What a worker and its thread share.
#[derive(Default)]
struct Counters {
    handled: AtomicU64,
    dropped: AtomicU64,
}

/// A worker as the exit handler sees it.
trait Drain: Sync {
    fn drain(&self);
}

impl<T: Send + 'static> Drain for Worker<T> {
    fn drain(&self) {
        let deadline = Instant::now() + EXIT_LIMIT;
        let mut seen = self.handled();
        let mut since = Instant::now();
        loop {
            if self.flush_timeout(Duration::from_millis(200)) {
                return;
            }
            let now = Instant::now();
            let handled = self.handled();
            if handled != seen {
                seen = handled;
                since = now;
            }
            if now >= deadline || now.duration_since(since) >= EXIT_STALL {
                return;
            }
        }
    }
}

static WORKERS: Mutex<Vec<&'static dyn Drain>> = Mutex::new(Vec::new());

extern "C" fn drain_at_exit() {
    // Never unwind into C.
    let _ = std::panic::catch_unwind(|| {
        let workers = match WORKERS.lock() {
            Ok(w) => w.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        for worker in workers {
            worker.drain();
        }
    });
}

fn register(worker: &'static dyn Drain) {
    static REGISTERED: std::sync::Once = std::sync::Once::new();
    REGISTERED.call_once(|| {
        // SAFETY: `atexit` stores a pointer to an `extern "C" fn()` with no
        // captured state; the handler catches panics, so none crosses into C.
        #[allow(unsafe_code)]
        unsafe {
            libc::atexit(drain_at_exit);
        }
    });
    if let Ok(mut workers) = WORKERS.lock() {
        workers.push(worker);
    }
}

impl<T: Send + 'static> Worker<T> {
    /// Starts a worker thread named `name` with a queue of `capacity` items.
    /// `open` runs on the new thread and builds the job (a database client
    /// must not start on a thread that runs an async runtime); the call waits
    /// for it. `None` when the thread cannot start or `open` gives no job.
    pub(crate) fn start<J, F>(
        name: &str,
        capacity: usize,
        policy: Policy,
        open: F,
    ) -> std::io::Result<Option<Self>>
    where
        J: Job<Item = T>,
        F: FnOnce() -> Option<J> + Send + 'static,
    {
        let (sender, receiver) = mpsc::sync_channel(capacity.max(1));
        let (ready, opened) = mpsc::channel();
        let counters = Arc::new(Counters::default());
        let shared = Arc::clone(&counters);
        let handle = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let Some(job) = open() else { return };
                let _ = ready.send(());
                run(job, receiver, &shared);
            })?;
        if opened.recv().is_err() {
            return Ok(None);
        }
        Ok(Some(Worker {
            sender,
            policy,
            thread: handle.thread().clone(),
            counters,
            registered: std::sync::Once::new(),
        }))
    }

    /// Registers the worker with the exit handler (once; later calls cost
    /// an atomic load). Call it once the worker is in its static.
    pub(crate) fn drain_at_exit_once(&'static self) {
        self.registered.call_once(|| register(self));
    }

    /// Hands `item` over. With a full queue, waits for room (lossless) or
    /// drops it (lossy). False when it was dropped.
    pub(crate) fn submit(&self, item: T) -> bool {
        match self.sender.try_send(Message::Item(item)) {
            Ok(()) => true,
            Err(TrySendError::Full(message)) => {
                self.thread.unpark();
                match self.policy {
                    Policy::Lossy => {
                        self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                        false
                    }
                    Policy::Lossless => self.sender.send(message).is_ok(),
                }
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }

    /// Waits until every item handed over so far is handled and flushed, at
    /// most `timeout`. True when it was.
    pub(crate) fn flush_timeout(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let (ack, done) = mpsc::channel();
        // The flush request waits behind the items already queued.
        let mut message = Message::Flush(ack);
        loop {
            match self.sender.try_send(message) {
                Ok(()) => break,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(m)) => {
                    if Instant::now() >= deadline {
                        return false;
                    }
                    message = m;
                    self.thread.unpark();
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
        self.thread.unpark();
        done.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .is_ok()
    }

    /// Items dropped because the queue was full (lossy policy).
    pub(crate) fn dropped(&self) -> u64 {
        self.counters.dropped.load(Ordering::Relaxed)
    }

    /// Items handled since the worker started.
    pub(crate) fn handled(&self) -> u64 {
        self.counters.handled.load(Ordering::Relaxed)
    }
}

/// The worker thread's loop: runs until every sender is gone.
fn run<J: Job>(mut job: J, receiver: Receiver<Message<J::Item>>, counters: &Counters) {
    const BUSY: Duration = Duration::from_millis(1);
    const IDLE: Duration = Duration::from_millis(100);
    let mut pause = BUSY;
    let mut reported = 0;
    loop {
        let mut handled = false;
        loop {
            match receiver.try_recv() {
                Ok(Message::Item(item)) => {
                    job.handle(item);
                    counters.handled.fetch_add(1, Ordering::Relaxed);
                    handled = true;
                }
                Ok(Message::Flush(ack)) => {
                    job.flush();
                    let _ = ack.send(());
                }
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => {
                    job.flush();
                    return;
                }
            }
        }
        if handled {
            job.flush();
            let dropped = counters.dropped.load(Ordering::Relaxed);
            if dropped > reported {
                job.report_dropped(dropped - reported, dropped);
                reported = dropped;
            }
            pause = BUSY;
        } else {
            pause = (pause * 2).min(IDLE);
        }
        std::thread::park_timeout(pause);
    }
}
