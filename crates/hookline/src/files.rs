//! Files that hold data or secrets: created readable by their owner only.
//!
//! The database holds every event's data and the webhooks' signing secrets, and `dev-credentials.json` holds
//! an admin token and an API key, so none of them is for other users of the machine, whatever the umask.
//! SQLite creates `-wal` and `-shm` with the mode of the database file, so creating that file `0600` before
//! SQLite opens it is enough for all three.

use std::io::Write as _;
use std::path::Path;

/// Creates `dir` and any missing parents, each `0700`. A directory that exists already is left as it is: it
/// may be shared (`/var/lib`) and is its owner's to choose.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Prepares a SQLite database at `path`: its directory is created `0700` if missing, the file is created empty
/// and `0600` if missing (SQLite takes an empty file as a new database), and an existing file, with its
/// `-wal` and `-shm`, is made `0600` (files left by an older hookline were `0644`).
pub fn prepare_sqlite_file(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        create_private_dir(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    drop(options.open(path)?);
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = Path::new(&name);
        if file.exists() {
            make_private(file)?;
        }
    }
    Ok(())
}

/// Writes `bytes` to `path`, which is created or left `0600`: a mode given at creation does not change an
/// existing file, so it is set again.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    make_private(path)?;
    file.write_all(bytes)
}

fn make_private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
