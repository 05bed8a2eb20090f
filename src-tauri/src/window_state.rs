//! The window's size, position and maximised state, kept in `window.json` in the data
//! folder and put back on the next start. A position that lies on no connected screen
//! any more (a monitor was unplugged) is dropped, and the window is centred instead.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tauri::{PhysicalPosition, PhysicalSize, WebviewWindow, WindowEvent};

/// The file in the data folder.
const STATE_FILE: &str = "window.json";
/// Largest file read.
const MAX_STATE_BYTES: u64 = 4096;
/// How often a moved or resized window is written down.
const SAVE_EVERY: Duration = Duration::from_millis(500);
/// Smallest size put back (smaller ones are ignored as damaged).
const MIN_SIDE: u32 = 200;

/// Where the window was, in physical pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WindowState {
    pub(crate) x: i32,
    pub(crate) y: i32,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) maximized: bool,
}

/// A screen's area, in physical pixels.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Screen {
    pub(crate) x: i32,
    pub(crate) y: i32,
    pub(crate) width: u32,
    pub(crate) height: u32,
}

impl WindowState {
    /// Whether enough of the window's title bar would be on one of `screens` to grab.
    pub(crate) fn visible_on(&self, screens: &[Screen]) -> bool {
        const GRAB: i64 = 48;
        screens.iter().any(|s| {
            let (left, top) = (i64::from(s.x), i64::from(s.y));
            let (right, bottom) = (left + i64::from(s.width), top + i64::from(s.height));
            let (x, y) = (i64::from(self.x), i64::from(self.y));
            x + GRAB <= right
                && x + i64::from(self.width) - GRAB >= left
                && y >= top
                && y + GRAB <= bottom
        })
    }
}

/// Reads the saved state, if there is a sound one.
pub(crate) fn load(dir: &Path) -> Option<WindowState> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(dir.join(STATE_FILE))
        .ok()?
        .take(MAX_STATE_BYTES)
        .read_to_end(&mut bytes)
        .ok()?;
    let state: WindowState = serde_json::from_slice(&bytes).ok()?;
    (state.width >= MIN_SIDE && state.height >= MIN_SIDE).then_some(state)
}

/// Writes the state down (replacing the file whole).
pub(crate) fn save(dir: &Path, state: &WindowState) -> std::io::Result<()> {
    let path = dir.join(STATE_FILE);
    let tmp = path.with_extension("json.tmp");
    let _ = std::fs::remove_file(&tmp);
    // Owner-only, as every file of the data folder must be.
    let mut file = quire_engine::private_files::create_private_file(&tmp)?;
    std::io::Write::write_all(&mut file, &serde_json::to_vec(state)?)?;
    drop(file);
    std::fs::rename(tmp, path)
}

fn capture(window: &WebviewWindow) -> Option<WindowState> {
    // A minimised window reports no real place (Windows: 0×0 at -32000).
    if window.is_minimized().ok()? {
        return None;
    }
    let maximized = window.is_maximized().ok()?;
    let position = window.outer_position().ok()?;
    let size = window.inner_size().ok()?;
    let state = WindowState {
        x: position.x,
        y: position.y,
        width: size.width,
        height: size.height,
        maximized,
    };
    (state.width >= MIN_SIDE && state.height >= MIN_SIDE).then_some(state)
}

fn screens(window: &WebviewWindow) -> Vec<Screen> {
    window
        .available_monitors()
        .unwrap_or_default()
        .iter()
        .map(|m| Screen {
            x: m.position().x,
            y: m.position().y,
            width: m.size().width,
            height: m.size().height,
        })
        .collect()
}

/// Puts the window back where it was, shows it, and from then on writes down where
/// it is moved or resized to.
pub(crate) fn restore_and_track(window: &WebviewWindow, dir: PathBuf) {
    if let Some(state) = load(&dir) {
        let _ = window.set_size(PhysicalSize::new(state.width, state.height));
        if state.visible_on(&screens(window)) {
            let _ = window.set_position(PhysicalPosition::new(state.x, state.y));
        } else {
            let _ = window.center();
        }
        if state.maximized {
            let _ = window.maximize();
        }
    }
    let _ = window.show();

    // The latest state not yet written; a thread writes it at most every SAVE_EVERY.
    let latest: Arc<Mutex<Option<WindowState>>> = Arc::default();
    let writer = Arc::clone(&latest);
    let folder = dir.clone();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(SAVE_EVERY);
            let Ok(mut slot) = writer.lock() else { break };
            if let Some(state) = slot.take()
                && let Err(e) = save(&folder, &state)
            {
                tracing::warn!("cannot remember the window's place: {e}");
            }
        }
    });
    let tracked = window.clone();
    window.on_window_event(move |event| match event {
        WindowEvent::Moved(_) | WindowEvent::Resized(_) => {
            // A maximised window keeps the size and place it had before.
            let Some(state) = capture(&tracked) else {
                return;
            };
            if let Ok(mut slot) = latest.lock() {
                let before = slot.or_else(|| load(&dir));
                *slot = Some(match (state.maximized, before) {
                    (true, Some(before)) => WindowState {
                        maximized: true,
                        ..before
                    },
                    _ => state,
                });
            }
        }
        WindowEvent::CloseRequested { .. } => {
            if let Ok(mut slot) = latest.lock()
                && let Some(state) = slot.take()
            {
                let _ = save(&dir, &state);
            }
        }
        _ => {}
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const STATE: WindowState = WindowState {
        x: 100,
        y: 80,
        width: 900,
        height: 640,
        maximized: false,
    };

    #[test]
    fn the_state_survives_a_restart_and_damage_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()), None);
        save(dir.path(), &STATE).unwrap();
        assert_eq!(load(dir.path()), Some(STATE));
        std::fs::write(dir.path().join(STATE_FILE), b"{\"x\":1").unwrap();
        assert_eq!(load(dir.path()), None);
        let tiny = WindowState { width: 3, ..STATE };
        save(dir.path(), &tiny).unwrap();
        assert_eq!(load(dir.path()), None);
    }

    #[test]
    fn a_place_on_an_unplugged_screen_is_not_restored() {
        let laptop = Screen {
            x: 0,
            y: 0,
            width: 1920,
            height: 1080,
        };
        let external = Screen { x: 1920, ..laptop };
        let on_external = WindowState { x: 2500, ..STATE };
        assert!(STATE.visible_on(&[laptop]));
        assert!(on_external.visible_on(&[laptop, external]));
        assert!(!on_external.visible_on(&[laptop]));
        assert!(!WindowState { y: -500, ..STATE }.visible_on(&[laptop]));
    }
}
