//! Editing a document's text in the user's $EDITOR.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Opens `text` in `$VISUAL`/`$EDITOR` (default `vi`) and returns what was saved.
pub(crate) fn edit_in_editor(text: &str) -> Result<String> {
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".to_owned());
    let dir = TempDir::new()?;
    let path = dir.0.join("document.md");
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    // The editor variable may carry arguments ("code --wait"), so run it through the shell.
    let status = if cfg!(windows) {
        Command::new("cmd")
            .arg("/C")
            .arg(format!("{editor} \"{}\"", path.display()))
            .status()
    } else {
        Command::new("sh")
            .arg("-c")
            .arg(format!("{editor} \"$1\""))
            .arg("sh")
            .arg(&path)
            .status()
    }
    .with_context(|| format!("starting the editor `{editor}`"))?;
    if status.code() == Some(127) && !cfg!(windows) {
        // The shell's "command not found".
        bail!(
            "the editor `{editor}` was not found; set $VISUAL or $EDITOR to one that is installed (the document was not changed)"
        );
    }
    if !status.success() {
        bail!("the editor `{editor}` exited with {status}; the document was not changed");
    }
    let edited = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    String::from_utf8(edited).map_err(|e| {
        anyhow::anyhow!(
            "the edited text is not UTF-8 (invalid byte at offset {}); the document was not changed",
            e.utf8_error().valid_up_to()
        )
    })
}

/// A fresh folder of our own for the file being edited (it holds the document's text),
/// removed however the edit ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self> {
        let base = std::env::temp_dir();
        let mut attempt = 0u32;
        loop {
            let dir = base.join(format!("quire-edit-{}-{attempt}", std::process::id()));
            // `create_dir`, not `create_dir_all`: never reuse a folder someone else made.
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok(Self(dir)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1;
                }
                Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
            }
        }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
