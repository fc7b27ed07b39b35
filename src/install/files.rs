//! File helpers of the installer: read, write whole (with a mode), replace in place (atomically,
//! keeping the mode), remove a file or a directory git-session created.

use std::io::Write;
use std::path::Path;

use super::assets;
use super::error::{io, Result};

/// Files OpenCode writes into each of its config directories (its plugin dependencies and the
/// `.gitignore` for them). When git-session created the directory, they go with it.
pub(crate) const OPENCODE_ARTIFACTS: [&str; 5] = [
    ".gitignore",
    "package.json",
    "package-lock.json",
    "bun.lock",
    "node_modules",
];

/// The file at `path` as text.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| io("cannot read", path, e))
}

/// Writes a whole file with `mode` (on Unix): a new one, or git-session's own older version,
/// truncated.
pub(crate) fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options
        .open(path)
        .map_err(|e| io("cannot write", path, e))?;
    file.write_all(bytes)
        .map_err(|e| io("cannot write", path, e))?;
    // The mode given to open() is reduced by the umask; a replaced file keeps its old mode.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| io("cannot set the mode of", path, e))?;
    }
    Ok(())
}

/// Replaces the contents of an existing file, keeping its mode: written next to it and renamed
/// over it ([`crate::fsutil::write_atomically`]), so a crash leaves the old or the new contents.
pub(crate) fn rewrite(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::fsutil::write_atomically(path, bytes).map_err(|e| io("cannot write", path, e))
}

/// Removes a file; one that is already gone is no error.
pub(crate) fn remove_file(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io("cannot remove", path, e)),
    }
}

/// Removes `dir` if it exists and is empty (a directory git-session's own state lived in).
pub(crate) fn remove_empty_dir(dir: Option<&Path>) {
    if let Some(dir) = dir {
        let _ = std::fs::remove_dir(dir);
    }
}

/// Removes a directory git-session created. Returns the names that kept it, if any.
pub(crate) fn remove_dir(path: &Path, opencode: bool) -> Result<Option<String>> {
    let entries: Vec<String> = match std::fs::read_dir(path) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("cannot read", path, e)),
    };
    let foreign: Vec<&String> = entries
        .iter()
        .filter(|name| !(opencode && OPENCODE_ARTIFACTS.contains(&name.as_str())))
        .collect();
    if !foreign.is_empty() {
        let mut names: Vec<&str> = foreign.iter().map(|s| s.as_str()).collect();
        names.sort_unstable();
        return Ok(Some(names.join(", ")));
    }
    for name in &entries {
        let entry = path.join(name);
        let removed = if entry.is_dir() && !entry.is_symlink() {
            std::fs::remove_dir_all(&entry)
        } else {
            std::fs::remove_file(&entry)
        };
        removed.map_err(|e| io("cannot remove", &entry, e))?;
    }
    std::fs::remove_dir(path).map_err(|e| io("cannot remove", path, e))?;
    Ok(None)
}

/// Appends `block` to the file at `path` (created when `create`), after a newline when
/// `separator` (the file did not end with one).
pub(crate) fn append_block(path: &Path, block: &str, separator: bool, create: bool) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(create)
        .open(path)
        .map_err(|e| io("cannot open", path, e))?;
    let text = if separator {
        format!("\n{block}")
    } else {
        block.to_owned()
    };
    file.write_all(text.as_bytes())
        .map_err(|e| io("cannot write", path, e))
}

/// Replaces the git-session block in the file at `path` by `block`; a file without one is left
/// as it is.
pub(crate) fn replace_block(path: &Path, block: &str) -> Result<()> {
    let text = read_text(path)?;
    if let Some(range) = assets::find_block(&text) {
        let mut new = text.clone();
        new.replace_range(range, block);
        rewrite(path, new.as_bytes())?;
    }
    Ok(())
}

/// Cuts the git-session block out of the file at `path`, with the newline before it when
/// `separator` (it was added with the block), so the file is byte-equal to what it was before
/// the block went in. A file `created` for the block is removed when nothing else is left.
pub(crate) fn remove_block(path: &Path, separator: bool, created: bool) -> Result<()> {
    let text = read_text(path)?;
    if let Some(range) = assets::find_block(&text) {
        let mut start = range.start;
        if separator && text[..start].ends_with('\n') {
            start -= 1;
        }
        let mut new = text.clone();
        new.replace_range(start..range.end, "");
        if created && new.is_empty() {
            remove_file(path)?;
        } else {
            rewrite(path, new.as_bytes())?;
        }
    }
    Ok(())
}

/// Where a block goes at the top of the script `text`: after its interpreter line (`#!...`), else
/// at the start. `None` when the interpreter line has no newline to put the block after.
pub(crate) fn top_of_script(text: &str) -> Option<usize> {
    if !text.starts_with("#!") {
        return Some(0);
    }
    text.find('\n').map(|i| i + 1)
}

/// Inserts `block` at the top of the script at `path` (see [`top_of_script`]), keeping its mode.
/// Cutting the block out again ([`remove_block`] without separator) gives the same bytes back.
pub(crate) fn insert_block(path: &Path, block: &str) -> Result<()> {
    let text = read_text(path)?;
    let at = top_of_script(&text).ok_or_else(|| {
        io(
            "cannot insert git-session's block into",
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "its interpreter line has no end",
            ),
        )
    })?;
    let mut new = String::with_capacity(text.len() + block.len());
    new.push_str(&text[..at]);
    new.push_str(block);
    new.push_str(&text[at..]);
    rewrite(path, new.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_goes_after_the_interpreter_line_and_comes_out_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pre-push");
        let block = assets::PRE_PUSH_INSERT;
        for (original, before_block) in [
            ("#!/bin/sh\nnpm test\nexit 0\n", "#!/bin/sh\n"),
            ("npm test\nexit $?", ""),
            (
                "#!/usr/bin/env bash\r\nexec lefthook run pre-push \"$@\"\r\n",
                "#!/usr/bin/env bash\r\n",
            ),
        ] {
            std::fs::write(&path, original).unwrap();
            insert_block(&path, block).unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(
                text,
                format!("{before_block}{block}{}", &original[before_block.len()..])
            );
            remove_block(&path, false, false).unwrap();
            assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
        }
        assert_eq!(top_of_script("#!/bin/sh"), None, "no line to put it after");
    }
}
