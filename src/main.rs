//! The `git-session` binary: parse the command line, run it, print an error as git does.

use std::process::ExitCode;

fn main() -> ExitCode {
    git_session::cli::main()
}
