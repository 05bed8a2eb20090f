//! `quire://` links (invites) waiting for the window. They come from the program's
//! arguments, from a later launch on the same data folder (as soon as this app has
//! claimed the folder, before its window exists), or from macOS's "open URL" event.
//! So they queue here; once the window exists it is brought forward and told
//! (`open-links`), and the page takes them with `take_links` when it has loaded and
//! on every such event.

use std::sync::{Arc, Mutex, OnceLock};

use tauri::{AppHandle, Emitter, Manager, State, Wry};

use crate::MAIN_WINDOW;

/// Most links kept waiting (a flood of launches cannot grow the queue without end).
const MAX_PENDING: usize = 16;

/// Links not yet taken by the window; cheap to clone and share with other threads.
#[derive(Clone, Default)]
pub(crate) struct LinkInbox(Arc<Inbox>);

#[derive(Default)]
struct Inbox {
    queue: Mutex<Vec<String>>,
    app: OnceLock<AppHandle<Wry>>,
}

impl LinkInbox {
    pub(crate) fn new(links: Vec<String>) -> Self {
        let inbox = Self::default();
        inbox.add(links);
        inbox
    }

    /// From now on, links that arrive bring this app's window forward.
    pub(crate) fn attach(&self, app: AppHandle<Wry>) {
        let _ = self.0.app.set(app);
    }

    /// Queues `links` (none: the app was just opened again) and, once the window
    /// exists, brings it forward and tells it.
    pub(crate) fn deliver(&self, links: Vec<String>) {
        let any = !links.is_empty();
        self.add(links);
        let Some(app) = self.0.app.get() else {
            return;
        };
        if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
            let _ = window.unminimize();
            let _ = window.show();
            let _ = window.set_focus();
        }
        if any && let Err(e) = app.emit("open-links", ()) {
            tracing::warn!("cannot tell the window about a link: {e}");
        }
    }

    fn add(&self, links: Vec<String>) {
        if let Ok(mut queue) = self.0.queue.lock() {
            queue.extend(links);
            let excess = queue.len().saturating_sub(MAX_PENDING);
            queue.drain(..excess);
        }
    }

    fn take(&self) -> Vec<String> {
        self.0
            .queue
            .lock()
            .map(|mut queue| std::mem::take(&mut *queue))
            .unwrap_or_default()
    }
}

/// The links waiting for the window, oldest first; they are the window's from now on.
#[tauri::command]
pub(crate) fn take_links(inbox: State<'_, LinkInbox>) -> Vec<String> {
    inbox.take()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_keeps_the_newest_links_and_gives_them_once() {
        let links: Vec<String> = (0..40).map(|i| format!("quire://join/{i}")).collect();
        let inbox = LinkInbox::new(links[..10].to_vec());
        // Before the window exists, links only queue.
        inbox.deliver(links[10..].to_vec());
        let queue = inbox.take();
        assert_eq!(queue.len(), MAX_PENDING);
        assert_eq!(queue.first(), links.get(40 - MAX_PENDING));
        assert_eq!(queue.last(), links.last());
        assert!(inbox.take().is_empty());
    }
}
