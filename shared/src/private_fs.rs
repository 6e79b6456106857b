//! Files and folders only the service's user may read (CONTRACTS section 5: the state folder
//! 0700, every file in it 0600). Existing ones are tightened too: an older release, or a
//! umask, may have left them readable by others.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};

pub const DIR_MODE: u32 = 0o700;
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` and its missing parents (mode 0700), and makes `dir` 0700 if it existed.
pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(DIR_MODE);
    builder.create(dir)?;
    #[cfg(unix)]
    fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))?;
    Ok(())
}

/// Creates `path` empty with mode 0600 if it is missing, or makes it 0600; its content is kept.
pub fn ensure_private_file(path: &Path) -> io::Result<()> {
    let file = private_options().open(path)?;
    tighten(&file)
}

/// Replaces `path`'s content with `bytes`; the file is 0600 before the first byte is written.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = private_options().truncate(true).open(path)?;
    tighten(&file)?;
    file.write_all(bytes)
}

/// Makes `path` 0600 if it exists.
pub fn tighten_if_exists(path: &Path) -> io::Result<()> {
    match fs::File::open(path) {
        Ok(file) => tighten(&file),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true).create(true);
    #[cfg(unix)]
    options.mode(FILE_MODE);
    options
}

// The mode given at creation only applies to a new file.
fn tighten(file: &fs::File) -> io::Result<()> {
    #[cfg(unix)]
    file.set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}
