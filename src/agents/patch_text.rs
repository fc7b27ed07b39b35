//! Reading the patches agents' tools apply, for [`crate::session::links::FileEdit`]s: the
//! `*** Begin Patch` format of `apply_patch` (Codex, OpenCode's patch tool) and unified diffs.
//! Each file's removed lines become the edit's old text and its added lines the new text.

/// One file a patch changes: its path and the lines removed and added (each ending in `\n`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatchedFile {
    /// The path as the patch names it (the new path of a move).
    pub path: String,
    /// The removed lines.
    pub old: String,
    /// The added lines (a new file's whole text).
    pub new: String,
}

/// The files of an `apply_patch` text (`*** Add File:`, `*** Update File:`, `*** Move to:`,
/// `*** Delete File:`); anything else is skipped.
pub fn apply_patch(text: &str) -> Vec<PatchedFile> {
    let mut out: Vec<PatchedFile> = Vec::new();
    let mut current: Option<PatchedFile> = None;
    for line in text.lines() {
        let header = ["*** Add File: ", "*** Update File: ", "*** Delete File: "]
            .iter()
            .find_map(|h| line.strip_prefix(h));
        if let Some(path) = header {
            out.extend(current.take());
            current = Some(PatchedFile {
                path: path.trim().to_owned(),
                ..Default::default()
            });
            continue;
        }
        if line.starts_with("*** End Patch") || line.starts_with("*** Begin Patch") {
            continue;
        }
        let Some(file) = current.as_mut() else {
            continue;
        };
        if let Some(to) = line.strip_prefix("*** Move to: ") {
            file.path = to.trim().to_owned();
        } else if let Some(added) = line.strip_prefix('+') {
            file.new.push_str(added);
            file.new.push('\n');
        } else if let Some(removed) = line.strip_prefix('-') {
            file.old.push_str(removed);
            file.old.push('\n');
        }
    }
    out.extend(current);
    out
}

/// The files of a unified diff (`--- a/x`, `+++ b/x`, `@@` hunks).
pub fn unified(text: &str) -> Vec<PatchedFile> {
    let mut out: Vec<PatchedFile> = Vec::new();
    let mut current: Option<PatchedFile> = None;
    let mut in_hunk = false;
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().copied().enumerate() {
        let next_is_new = lines.get(i + 1).is_some_and(|l| l.starts_with("+++ "));
        if line.starts_with("--- ") && next_is_new {
            in_hunk = false;
            continue;
        }
        if let Some(path) = line.strip_prefix("+++ ").filter(|_| !in_hunk) {
            out.extend(current.take());
            let path = path.split('\t').next().unwrap_or("").trim();
            let path = path
                .strip_prefix("b/")
                .filter(|_| !path.starts_with("b//"))
                .unwrap_or(path);
            current = Some(PatchedFile {
                path: path.to_owned(),
                ..Default::default()
            });
            in_hunk = false;
            continue;
        }
        if line.starts_with("@@") {
            in_hunk = true;
            continue;
        }
        let Some(file) = current.as_mut().filter(|_| in_hunk) else {
            continue;
        };
        if let Some(added) = line.strip_prefix('+') {
            file.new.push_str(added);
            file.new.push('\n');
        } else if let Some(removed) = line.strip_prefix('-') {
            file.old.push_str(removed);
            file.old.push('\n');
        }
    }
    out.extend(current);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_apply_patch_text_gives_each_file_its_removed_and_added_lines() {
        let patch = "*** Begin Patch\n*** Add File: hello.txt\n+hello\n+world\n*** Update File: src/a.py\n*** Move to: src/b.py\n@@ def f():\n-    pass\n+    return 1\n*** Delete File: old.txt\n*** End Patch";
        let files = apply_patch(patch);
        assert_eq!(files.len(), 3);
        assert_eq!(files[0].path, "hello.txt");
        assert_eq!(files[0].new, "hello\nworld\n");
        assert_eq!(files[1].path, "src/b.py");
        assert_eq!(files[1].old, "    pass\n");
        assert_eq!(files[1].new, "    return 1\n");
        assert_eq!(files[2].path, "old.txt");
    }

    #[test]
    fn a_unified_diff_gives_each_file_its_hunk_lines() {
        let diff = "Index: /r/a.rs\n===\n--- /r/a.rs\n+++ /r/a.rs\n@@ -1,2 +1,2 @@\n fn a() {\n-    1\n+    2\n--- a/b.rs\n+++ b/b.rs\n@@ -0,0 +1 @@\n+new\n";
        let files = unified(diff);
        assert_eq!(files.len(), 2);
        assert_eq!(
            (
                files[0].path.as_str(),
                files[0].old.as_str(),
                files[0].new.as_str()
            ),
            ("/r/a.rs", "    1\n", "    2\n")
        );
        assert_eq!(
            (files[1].path.as_str(), files[1].new.as_str()),
            ("b.rs", "new\n")
        );
    }
}
