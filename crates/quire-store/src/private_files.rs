//! Owner-only files and folders. The data folder holds every document's read key and
//! write secret, so on Unix it is made 0700 and its files 0600 from the moment they
//! exist (never created wider and narrowed later). SQLite gives a database's `-wal`,
//! `-shm` and `-journal` files the mode of the database file, so creating the database
//! file 0600 before SQLite opens it covers those too. Other platforms keep their
//! default access rules (a user's profile folder is private there already).

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::Path;

/// Makes `dir` (and missing parents) readable by the owner only.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates `path`, which must not exist, readable and writable by the owner only.
pub fn create_private_file(path: &Path) -> io::Result<File> {
    private_options().create_new(true).open(path)
}

/// Creates `path` owner-only if it is missing; an existing file is left as it is.
pub fn ensure_private_file(path: &Path) -> io::Result<File> {
    private_options().create(true).truncate(false).open(path)
}

fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.read(true).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// The permission bits of `metadata` if other users (group or others) may read,
/// write or enter it; `None` when only the owner may, and always on non-Unix systems.
pub fn shared_mode(metadata: &fs::Metadata) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = metadata;
        None
    }
}

/// Makes a rename or a new file in `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn folders_and_files_are_owner_only_and_wide_ones_are_seen() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        let file = dir.join("f");
        create_private_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        assert!(create_private_file(&file).is_err(), "never replaces a file");
        assert_eq!(shared_mode(&fs::metadata(&file).unwrap()), None);
        fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(shared_mode(&fs::metadata(&file).unwrap()), Some(0o640));
    }
}
