//! Import and export of Markdown files.

use std::path::Path;

use quire_doc::DocumentId;

use crate::{Engine, EngineError};

/// Largest file `import` reads; bigger files are refused before reading.
pub const MAX_IMPORT_BYTES: u64 = 32 * 1024 * 1024;

/// The title for imported text: its first `# heading`, else the file name.
fn title_for(path: &Path, text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find_map(|l| {
            l.strip_prefix("# ")
                .map(str::trim)
                .filter(|t| !t.is_empty())
        })
        .map(str::to_owned)
        .or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "Untitled".to_owned())
}

impl Engine {
    /// Imports a UTF-8 Markdown file as a new document.
    pub async fn import_markdown(&self, path: &Path) -> Result<DocumentId, EngineError> {
        let meta = std::fs::metadata(path).map_err(|e| EngineError::io(path, e))?;
        if !meta.is_file() {
            return Err(EngineError::io(
                path,
                std::io::Error::other("not a regular file"),
            ));
        }
        if meta.len() > MAX_IMPORT_BYTES {
            return Err(EngineError::io(
                path,
                std::io::Error::other(format!(
                    "{} bytes is over the import limit of {MAX_IMPORT_BYTES}",
                    meta.len()
                )),
            ));
        }
        let bytes = std::fs::read(path).map_err(|e| EngineError::io(path, e))?;
        let text = String::from_utf8(bytes).map_err(|e| EngineError::NotUtf8 {
            path: path.to_owned(),
            offset: e.utf8_error().valid_up_to(),
        })?;
        self.import_text(path, &text).await
    }

    /// Imports the text of a Markdown file named `file_name` (read elsewhere, such as
    /// by the desktop app's window) as a new document.
    pub async fn import_text(
        &self,
        file_name: impl AsRef<Path>,
        text: &str,
    ) -> Result<DocumentId, EngineError> {
        let file_name = file_name.as_ref();
        if text.len() as u64 > MAX_IMPORT_BYTES {
            return Err(EngineError::InvalidInput(format!(
                "{} is {} bytes, over the import limit of {MAX_IMPORT_BYTES}",
                file_name.display(),
                text.len()
            )));
        }
        // Windows line endings and a byte-order mark are file artefacts, not text.
        let text = text
            .strip_prefix('\u{feff}')
            .unwrap_or(text)
            .replace("\r\n", "\n");
        self.create(&title_for(file_name, &text), &text).await
    }

    /// Writes a document's body to a file, atomically (a reader never sees half a file).
    pub async fn export_markdown(&self, id: DocumentId, path: &Path) -> Result<(), EngineError> {
        let text = self.text(id).await?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.quire-tmp"));
        std::fs::write(&tmp, text.as_bytes()).map_err(|e| EngineError::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            EngineError::io(path, e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_comes_from_heading_or_file_name() {
        assert_eq!(
            title_for(Path::new("a/notes.md"), "intro\n# Plan  \nbody"),
            "Plan"
        );
        assert_eq!(title_for(Path::new("a/notes.md"), "no heading"), "notes");
    }
}
