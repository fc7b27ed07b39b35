//! The files `git session install` writes, embedded in the binary (a `cargo install`ed
//! git-session has no source tree to copy them from). Their sources are in `hooks/`.

/// The OpenCode plugin (`hooks/opencode/git-session.js`).
pub const PLUGIN: &str = include_str!("../../hooks/opencode/git-session.js");
/// The `/session-save` command (`hooks/opencode/session-save.md`).
pub const SAVE_COMMAND: &str = include_str!("../../hooks/opencode/session-save.md");
/// The `/session-load` command (`hooks/opencode/session-load.md`).
pub const LOAD_COMMAND: &str = include_str!("../../hooks/opencode/session-load.md");
/// The git `pre-push` hook as written where none exists (`hooks/git/pre-push`).
pub const PRE_PUSH: &str = include_str!("../../hooks/git/pre-push");
/// The block inserted at the top of an existing pre-push hook in a hooks directory outside the
/// git dir (committed, or shared), when appending would not run (`hooks/git/pre-push-insert`): it
/// calls `git-session` only when it is on PATH, with stdin from `/dev/null` (the hook's own logic
/// still reads git's ref lines), and never fails.
pub const PRE_PUSH_INSERT: &str = include_str!("../../hooks/git/pre-push-insert");

/// The git `prepare-commit-msg` hook as written where none exists
/// (`hooks/git/prepare-commit-msg`): it links the commit to the sessions that wrote it.
pub const PREPARE_COMMIT_MSG: &str = include_str!("../../hooks/git/prepare-commit-msg");
/// The block inserted at the top of an existing prepare-commit-msg hook in a hooks directory
/// outside the git dir when appending would not run (`hooks/git/prepare-commit-msg-insert`).
pub const PREPARE_COMMIT_MSG_INSERT: &str =
    include_str!("../../hooks/git/prepare-commit-msg-insert");

/// The first line of every block git-session adds to a file it shares with others (an existing
/// hook, `info/exclude`); the block ends with the line [`BLOCK_END`].
pub const BLOCK_START: &str = "## START GIT-SESSION";
/// The last line of a git-session block.
pub const BLOCK_END: &str = "## END GIT-SESSION";

/// The marker-delimited block of [`PRE_PUSH`], from its start line to its end line and newline:
/// what is appended to a pre-push hook that already exists.
pub fn pre_push_block() -> &'static str {
    block_of(PRE_PUSH)
}

/// The marker-delimited block of a whole hook file of `hooks/git/` (its start line to its end
/// line and newline): what is appended to a hook that already exists.
pub fn block_of(hook: &'static str) -> &'static str {
    let range = find_block(hook).expect("a hook of hooks/git/ holds one marked block");
    &hook[range]
}

/// Finds the git-session block in `text`: the byte range from its start marker's line to the end
/// of its end marker's line (newline included).
pub fn find_block(text: &str) -> Option<std::ops::Range<usize>> {
    let mut offset = 0;
    let mut start = None;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if start.is_none() && trimmed.starts_with(BLOCK_START) {
            start = Some(offset);
        } else if start.is_some() && trimmed == BLOCK_END {
            return start.map(|s| s..offset + line.len());
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pre_push_block_is_the_marked_part_of_the_hook() {
        let block = pre_push_block();
        assert!(block.starts_with(BLOCK_START));
        assert!(block.ends_with(&format!("{BLOCK_END}\n")));
        assert!(block.contains("git session hook pre-push \"$@\""));
        assert_eq!(find_block(PRE_PUSH).map(|r| &PRE_PUSH[r]), Some(block));
    }

    #[test]
    fn the_inserted_block_is_one_block_that_reads_no_stdin_and_never_fails() {
        assert_eq!(
            find_block(PRE_PUSH_INSERT),
            Some(0..PRE_PUSH_INSERT.len()),
            "markers and nothing else around them"
        );
        let command = PRE_PUSH_INSERT
            .lines()
            .find(|l| !l.starts_with('#'))
            .unwrap();
        assert!(command.starts_with("command -v git-session >/dev/null 2>&1 && "));
        assert!(command.contains("git-session hook pre-push \"$@\" </dev/null"));
        assert!(command.ends_with(" || true"), "{command}");
        assert!(!PRE_PUSH_INSERT.contains("exit"));
    }

    #[test]
    fn the_prepare_commit_msg_hook_keeps_the_status_and_reads_no_stdin() {
        let block = block_of(PREPARE_COMMIT_MSG);
        assert!(block.contains("git_session_status=$?"));
        assert!(block.contains("git-session hook prepare-commit-msg \"$@\" </dev/null || :"));
        assert_eq!(
            find_block(PREPARE_COMMIT_MSG_INSERT),
            Some(0..PREPARE_COMMIT_MSG_INSERT.len())
        );
        assert!(PREPARE_COMMIT_MSG_INSERT.contains("|| true"));
        assert!(!PREPARE_COMMIT_MSG_INSERT.contains("exit"));
    }

    #[test]
    fn a_block_is_found_between_its_markers_only() {
        let text = format!("echo a\n{BLOCK_START} x\nb\n{BLOCK_END}\necho c\n");
        let range = find_block(&text).unwrap();
        assert_eq!(&text[..range.start], "echo a\n");
        assert_eq!(&text[range.end..], "echo c\n");
        assert_eq!(find_block(&format!("{BLOCK_START}\nno end\n")), None);
    }
}
