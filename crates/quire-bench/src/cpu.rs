//! CPU time of this process's threads, by kind of thread: steadier than latency on a
//! shared machine, and it says where the work of a transaction goes. Linux only
//! (`/proc/self/task/*/schedstat`: nanoseconds each thread has run); elsewhere there
//! is no figure.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// Run time so far per kind of thread, in nanoseconds.
pub(crate) struct CpuTime(BTreeMap<&'static str, u64>);

impl CpuTime {
    pub(crate) fn now() -> Option<Self> {
        let mut by_kind = BTreeMap::new();
        for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
            let path = task.path();
            let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
            let Some(ran) = std::fs::read_to_string(path.join("schedstat"))
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            else {
                continue;
            };
            *by_kind.entry(kind_of(name.trim())).or_insert(0) += ran;
        }
        Some(Self(by_kind))
    }

    /// Microseconds per operation of each kind of thread since `earlier`. Threads
    /// that ended in between are not counted.
    pub(crate) fn per_op_since(&self, earlier: &Self, ops: usize) -> Value {
        let per_op = |ns: u64| ns as f64 / 1e3 / ops.max(1) as f64;
        let mut out = serde_json::Map::new();
        let mut total = 0;
        for (kind, ran) in &self.0 {
            let ran = ran.saturating_sub(earlier.0.get(kind).copied().unwrap_or(0));
            total += ran;
            out.insert((*kind).to_owned(), json!(per_op(ran)));
        }
        out.insert("total".to_owned(), json!(per_op(total)));
        Value::Object(out)
    }
}

/// Threads are told apart by name (Linux keeps its first 15 bytes).
fn kind_of(name: &str) -> &'static str {
    if name.starts_with("tokio") {
        "async_runtime"
    } else if name.starts_with("quire-store-wri") {
        "store_writers"
    } else if name == "futures-timer" {
        "timer_thread"
    } else if name == "quire-bench" {
        "main_thread"
    } else {
        "other"
    }
}
