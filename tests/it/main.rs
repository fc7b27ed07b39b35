//! Integration tests of the `git-session` binary, run against real git repositories.
//!
//! One test binary (linked once): each module covers one area of the command line, and
//! [`support`] holds the hermetic environment every process runs in.

// Tests may print: figures and SKIPPED notes go to the test log (the lints deny printing in src/).
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod bad_input;
mod checkout_paths;
mod claude;
mod codex;
mod conventions;
mod deletion;
mod e2e_claude;
mod e2e_codex;
mod e2e_gemini;
mod e2e_hooks;
mod e2e_links;
mod e2e_opencode;
mod gc_safety;
mod gemini;
mod http;
mod ids;
mod import_many;
mod install;
mod json;
mod layers;
mod lifecycle;
mod links;
mod manual;
mod opencode2;
mod parser_props;
mod portable;
mod redaction;
mod repos;
mod save;
mod scrub;
mod serve;
mod share;
mod storage;
mod support;
mod team;
