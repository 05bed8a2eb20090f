//! Editing a document's text in the user's $EDITOR.

use std::process::Command;

use anyhow::{Context, Result, bail};

/// Opens `text` in `$VISUAL`/`$EDITOR` (default `vi`) and returns what was saved.
pub(crate) fn edit_in_editor(text: &str) -> Result<String> {
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".to_owned());
    let dir = tempfile_dir()?;
    let path = dir.join("document.md");
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
    if !status.success() {
        bail!("the editor `{editor}` exited with {status}; the document was not changed");
    }
    let edited = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8(edited).context("the edited text is not UTF-8; the document was not changed")
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("quire-edit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
