//! `quire://` links (invites) waiting for the window. They come from the program's
//! arguments, from a second launch on the same data folder, or from macOS's "open URL"
//! event, possibly before the page has loaded; so they queue here, the window is told
//! (`open-links`), and the page takes them with `take_links` when it is ready and on
//! every such event.

use std::sync::Mutex;

use tauri::{AppHandle, Emitter, Manager, Runtime, State};

use crate::MAIN_WINDOW;

/// Most links kept waiting (a flood of launches cannot grow the queue without end).
const MAX_PENDING: usize = 16;

/// Links not yet taken by the window.
pub(crate) struct PendingLinks(Mutex<Vec<String>>);

impl PendingLinks {
    pub(crate) fn new(links: Vec<String>) -> Self {
        let mut pending = Self(Mutex::new(Vec::new()));
        pending.push(links);
        pending
    }

    fn push(&mut self, links: Vec<String>) {
        if let Ok(queue) = self.0.get_mut() {
            add(queue, links);
        }
    }
}

fn add(queue: &mut Vec<String>, links: Vec<String>) {
    queue.extend(links);
    let excess = queue.len().saturating_sub(MAX_PENDING);
    queue.drain(..excess);
}

/// Brings the window forward and hands it `links` (none: the app was just opened again).
pub(crate) fn open<R: Runtime>(app: &AppHandle<R>, links: Vec<String>) {
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
    if links.is_empty() {
        return;
    }
    if let Ok(mut queue) = app.state::<PendingLinks>().0.lock() {
        add(&mut queue, links);
    }
    if let Err(e) = app.emit("open-links", ()) {
        tracing::warn!("cannot tell the window about a link: {e}");
    }
}

/// The links waiting for the window, oldest first; they are the window's from now on.
#[tauri::command]
pub(crate) fn take_links(pending: State<'_, PendingLinks>) -> Vec<String> {
    pending
        .0
        .lock()
        .map(|mut queue| std::mem::take(&mut *queue))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_keeps_the_newest_links() {
        let links: Vec<String> = (0..40).map(|i| format!("quire://join/{i}")).collect();
        let mut pending = PendingLinks::new(links[..10].to_vec());
        pending.push(links[10..].to_vec());
        let queue = pending.0.into_inner().unwrap_or_default();
        assert_eq!(queue.len(), MAX_PENDING);
        assert_eq!(queue.first(), links.get(40 - MAX_PENDING));
        assert_eq!(queue.last(), links.last());
    }
}
