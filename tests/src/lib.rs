//! `quire-tests`: integration tests that need real processes (crash safety), and what
//! the test binaries and the tests share.

use std::time::{Duration, Instant};

use quire_engine::{Engine, EngineConfig, EngineError};

/// How long [`open_when_free`] waits for a killed process's lock to go away.
pub const LOCK_WAIT: Duration = Duration::from_secs(5);

/// Opens the engine, waiting up to [`LOCK_WAIT`] while the data folder is still held
/// (a process killed a moment ago may still be on its way out).
pub async fn open_when_free(config: EngineConfig) -> Result<Engine, EngineError> {
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match Engine::open(config.clone()).await {
            Err(EngineError::Busy(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            result => return result,
        }
    }
}
