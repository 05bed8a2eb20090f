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

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use futures::executor::block_on;
use futures_timer::Delay;

/// Far enough that a test never waits for it.
const DISTANT: Duration = Duration::from_secs(3600);
/// Long enough for a timer that is due to have fired on the slowest machine.
const WATCHDOG: Duration = Duration::from_secs(10);

/// Runs `f` on a thread and fails the test if it does not finish within [`WATCHDOG`].
fn within_watchdog(what: &str, f: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    thread::spawn(move || {
        f();
        let _ = done.send(());
    });
    if finished.recv_timeout(WATCHDOG).is_err() {
        panic!("{what}: not done within {WATCHDOG:?} (a timer never fired)");
    }
}

/// Waits for `delay` and checks it did not fire before `at_least`.
fn wait(delay: Delay, at_least: Duration) {
    let start = Instant::now();
    block_on(delay);
    assert!(
        start.elapsed() >= at_least,
        "a timer of {at_least:?} fired after {:?}",
        start.elapsed()
    );
}

#[test]
fn a_short_timer_fires_while_the_helper_sleeps_until_a_distant_one() {
    within_watchdog("short timer", || {
        let distant = Delay::new(DISTANT);
        // Let the helper thread take the distant timer and go to sleep until then.
        thread::sleep(Duration::from_millis(50));
        wait(
            Delay::new(Duration::from_millis(20)),
            Duration::from_millis(20),
        );
        drop(distant);
    });
}

#[test]
fn a_timer_moved_earlier_fires_at_its_new_time() {
    within_watchdog("moved timer", || {
        let mut delay = Delay::new(DISTANT);
        thread::sleep(Duration::from_millis(50));
        delay.reset(Duration::from_millis(30));
        wait(delay, Duration::from_millis(30));
    });
}

#[test]
fn dropped_timers_do_not_hold_back_or_hurry_the_others() {
    within_watchdog("after dropped timers", || {
        for _ in 0..10_000 {
            drop(Delay::new(Duration::from_secs(10)));
        }
        let later = Delay::new(Duration::from_millis(300));
        wait(
            Delay::new(Duration::from_millis(20)),
            Duration::from_millis(20),
        );
        wait(later, Duration::from_millis(250));
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
                    let delays: Vec<(Duration, Instant, Delay)> = (0..200)
                        .map(|_| {
                            let d = Duration::from_micros(next() % 30_000);
                            (d, Instant::now(), Delay::new(d))
                        })
                        .collect();
                    for (d, made, delay) in delays {
                        block_on(delay);
                        assert!(made.elapsed() >= d, "seed {seed}: fired early");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("a timer thread failed");
        }
    });
}
