//! Retry detection: the same function called again in one trace within ten
//! minutes of a failure is a retry.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use once_cell::sync::Lazy;

use crate::record::{CallRecord, Status};

/// Failures seen per (trace, function), kept for ten minutes.
static FAILED: Lazy<Mutex<HashMap<(String, usize), Instant>>> = Lazy::new(Default::default);
static ANY_FAILED: AtomicBool = AtomicBool::new(false);
const RETRY_MEMORY: Duration = Duration::from_secs(600);
const RETRY_CAPACITY: usize = 10_000;

pub(super) fn is_retry(record: &CallRecord, site_key: usize) -> bool {
    let Some(trace) = &record.trace_id else {
        return false;
    };
    let failed = matches!(record.status, Status::Error | Status::Panic);
    if !failed && !ANY_FAILED.load(Ordering::Relaxed) {
        return false;
    }
    let Ok(mut map) = FAILED.lock() else {
        return false;
    };
    let key = (trace.clone(), site_key);
    let now = Instant::now();
    let retry = map
        .get(&key)
        .is_some_and(|t| now.duration_since(*t) < RETRY_MEMORY);
    if failed {
        if map.len() >= RETRY_CAPACITY {
            map.retain(|_, t| now.duration_since(*t) < RETRY_MEMORY);
            if map.len() >= RETRY_CAPACITY {
                map.clear();
            }
        }
        map.insert(key, now);
        ANY_FAILED.store(true, Ordering::Relaxed);
    } else if retry {
        map.remove(&key);
    }
    retry
}
