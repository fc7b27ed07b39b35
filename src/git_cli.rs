//! The only module that runs the `git` binary: housekeeping that gix does not do (and, later,
//! push and fetch). Reading and writing objects and refs never goes through here.

use std::path::Path;
use std::process::{Command, Stdio};

/// git's default `gc.auto`: loose objects before `git gc --auto` packs them.
const DEFAULT_GC_AUTO: i64 = 6700;
/// git's default `gc.autoPackLimit`.
const DEFAULT_AUTO_PACK_LIMIT: i64 = 50;

/// Runs `git gc --auto` when git would consider it due, as git does after its own commands (gix
/// writes never trigger it). The estimate mirrors git's: loose objects in `objects/17` times 256,
/// and the number of packs. Cheap when nothing is due (one directory read, no process).
/// Failures are ignored: housekeeping must never fail a save.
pub fn gc_auto(objects_dir: &Path, git_dir: &Path, gc_auto: Option<i64>, pack_limit: Option<i64>) {
    let gc_auto = gc_auto.unwrap_or(DEFAULT_GC_AUTO);
    if gc_auto <= 0 {
        return;
    }
    let pack_limit = pack_limit.unwrap_or(DEFAULT_AUTO_PACK_LIMIT);
    let loose_estimate = std::fs::read_dir(objects_dir.join("17"))
        .map(|d| d.count() as i64 * 256)
        .unwrap_or(0);
    let packs = std::fs::read_dir(objects_dir.join("pack"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".idx"))
                .count() as i64
        })
        .unwrap_or(0);
    if loose_estimate <= gc_auto && (pack_limit <= 0 || packs <= pack_limit) {
        return;
    }
    // git itself decides again and detaches (gc.autoDetach), so this returns quickly.
    let _ = Command::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .args(["gc", "--auto", "--quiet"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}
