//! libp2p times its queues and protocols with `futures-timer`, whose timers run on one
//! helper thread. Quire builds against a patched copy (`third_party/futures-timer`)
//! that wakes that thread only when it would otherwise sleep past a new deadline:
//! upstream woke it twice for every gossip message sent (its send timeout made and
//! then dropped), each wake a thread switch on the path of a keystroke.
//!
//! Alone in its test binary, so that no other timers wake the helper meanwhile
//! (`timer_deadlines.rs` checks that timers still fire when they should).
#![cfg(target_os = "linux")]
// Helpers outside `#[test]` functions panic on failure too.
#![allow(clippy::expect_used)]

use std::thread;
use std::time::Duration;

use futures_timer::Delay;

/// Context switches of the timer helper thread so far (Linux).
fn helper_switches() -> u64 {
    for task in std::fs::read_dir("/proc/self/task").expect("/proc/self/task") {
        let path = task.expect("a task").path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if name.trim() == "futures-timer" {
            let status = std::fs::read_to_string(path.join("status")).expect("status");
            return status
                .lines()
                .filter(|l| l.contains("ctxt_switches"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum();
        }
    }
    panic!("no futures-timer helper thread")
}

#[test]
fn distant_and_dropped_timers_do_not_wake_the_helper() {
    // Start the helper and give it a deadline of its own.
    let distant = Delay::new(Duration::from_secs(3600));
    thread::sleep(Duration::from_millis(50));
    let before = helper_switches();
    // A gossip send: a timeout made, then dropped when the message goes out.
    for _ in 0..200 {
        drop(Delay::new(Duration::from_secs(5)));
        thread::sleep(Duration::from_micros(500));
    }
    let woken = helper_switches() - before;
    // Upstream wakes it about 300 times here (a wake-up that comes while it is still
    // awake costs no switch).
    assert!(
        woken < 100,
        "the timer thread was woken {woken} times for 200 distant timers"
    );
    drop(distant);
}
