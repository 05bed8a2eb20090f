//! libp2p times its queues and protocols with `futures-timer`, whose timers run on one
//! helper thread. Quire builds against a patched copy (`third_party/futures-timer`)
//! that wakes that thread only when it would otherwise sleep past a new deadline:
//! upstream woke it twice for every gossip message sent (its send timeout made and
//! then dropped), each wake a thread switch on the path of a keystroke.
//!
//! These check that timers still fire when they should, however they are made, moved
//! and dropped (`timer_wakeups.rs`, a test binary of its own so that no other timers
//! run meanwhile, checks that distant and dropped ones no longer wake the helper).
// Helpers outside `#[test]` functions panic on failure too.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::{Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use futures::executor::block_on;
use futures_timer::Delay;

/// Far enough that a test never waits for it: while such a timer is the helper's
/// next deadline, a lost wake-up leaves a due timer waiting an hour.
const DISTANT: Duration = Duration::from_secs(3600);
/// Long enough for a timer that is due to have fired on the slowest machine.
const WATCHDOG: Duration = Duration::from_secs(10);

/// One test at a time: all timers share the helper thread, and one test's timers
/// waking it could hide a wake-up another test lost.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs `f` on a thread (one test at a time) and fails the test if it does not
/// finish within [`WATCHDOG`].
fn within_watchdog(what: &str, f: impl FnOnce() + Send + 'static) {
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (done, finished) = mpsc::channel();
    let worker = thread::spawn(move || {
        f();
        let _ = done.send(());
    });
    match finished.recv_timeout(WATCHDOG) {
        Ok(()) => {}
        // `f` panicked (its sender dropped): report its failure.
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = worker.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: not done within {WATCHDOG:?} (a timer never fired)")
        }
    }
}

/// A timer of `after`, and a time no later than the one it counts from.
fn timer(after: Duration) -> (Delay, Instant, Duration) {
    let made = Instant::now();
    (Delay::new(after), made, after)
}

/// Waits for a [`timer`] and checks it did not fire early.
fn wait((delay, made, after): (Delay, Instant, Duration)) {
    block_on(delay);
    assert!(
        made.elapsed() >= after,
        "a timer of {after:?} fired after {:?}",
        made.elapsed()
    );
}

#[test]
fn a_short_timer_fires_while_the_helper_sleeps_until_a_distant_one() {
    within_watchdog("short timer", || {
        let distant = Delay::new(DISTANT);
        // Let the helper thread take the distant timer and go to sleep until then.
        thread::sleep(Duration::from_millis(50));
        wait(timer(Duration::from_millis(20)));
        drop(distant);
    });
}

#[test]
fn a_timer_moved_earlier_fires_at_its_new_time() {
    within_watchdog("moved timer", || {
        let mut delay = Delay::new(DISTANT);
        thread::sleep(Duration::from_millis(50));
        let moved = Instant::now();
        delay.reset(Duration::from_millis(30));
        block_on(delay);
        assert!(moved.elapsed() >= Duration::from_millis(30), "fired early");
    });
}

#[test]
fn dropped_timers_do_not_hold_back_or_hurry_the_others() {
    within_watchdog("after dropped timers", || {
        for _ in 0..10_000 {
            drop(Delay::new(DISTANT));
        }
        let later = timer(Duration::from_millis(300));
        wait(timer(Duration::from_millis(20)));
        wait(later);
    });
}

#[test]
fn timers_made_on_many_threads_at_once_all_fire_on_time() {
    let seed: u64 = std::env::var("QUIRE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    println!("seed {seed} (QUIRE_SEED={seed} repeats this run)");
    within_watchdog("timers on many threads", move || {
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                thread::spawn(move || {
                    // xorshift: a different, repeatable sequence per thread.
                    let mut x = seed ^ (t + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                    let mut next = move || {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x
                    };
                    let timers: Vec<_> = (0..200)
                        .map(|_| timer(Duration::from_micros(next() % 30_000)))
                        .collect();
                    for t in timers {
                        wait(t);
                    }
                })
            })
            .collect();
        for t in threads {
            if let Err(panic) = t.join() {
                eprintln!("seed {seed}: a timer thread failed");
                std::panic::resume_unwind(panic);
            }
        }
    });
}
