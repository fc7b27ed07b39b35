//! Progress of long work on stderr, drawn by indicatif only when stderr is a terminal: nothing
//! at all reaches a pipe, a file or a hook's log. Status lines printed meanwhile (through
//! [`super::ui::status`]) appear above the bar instead of through it.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::ui;

/// The bar being drawn, for [`suspend`].
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// A progress bar or spinner; hidden unless stderr is a terminal. Cleared when dropped.
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar counting `total` items: `Importing [=====>    ] 12/100 name`.
    pub(crate) fn bar(total: u64, prefix: &str) -> Self {
        Self::start(
            ProgressBar::new(total),
            prefix,
            "{prefix} [{bar:30}] {pos}/{len} {wide_msg}",
        )
    }

    /// A spinner for work of unknown length: `Saving ses_123 ⠋ 2s`.
    pub(crate) fn spinner(prefix: &str) -> Self {
        let progress = Self::start(
            ProgressBar::new_spinner(),
            prefix,
            "{prefix} {spinner} {elapsed} {wide_msg}",
        );
        if let Some(bar) = &progress.bar {
            bar.enable_steady_tick(Duration::from_millis(120));
        }
        progress
    }

    /// No progress (for `--json`, `--quiet` and the like).
    pub(crate) fn hidden() -> Self {
        Progress { bar: None }
    }

    fn start(bar: ProgressBar, prefix: &str, template: &str) -> Self {
        if !ui::stderr_is_terminal() {
            return Self::hidden();
        }
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.set_style(style);
        bar.set_prefix(prefix.to_owned());
        bar.tick();
        if let Ok(mut active) = ACTIVE.lock() {
            *active = Some(bar.clone());
        }
        Progress { bar: Some(bar) }
    }

    /// Counts one more item done, naming the next.
    pub(crate) fn inc(&self, message: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(message.to_owned());
            bar.inc(1);
        }
    }

    /// Names what is being worked on.
    pub(crate) fn message(&self, message: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(message.to_owned());
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
            if let Ok(mut active) = ACTIVE.lock() {
                *active = None;
            }
        }
    }
}

/// Runs `print` with the bar (if any) taken off the screen, then draws it again.
pub(crate) fn suspend<R>(print: impl FnOnce() -> R) -> R {
    let active = ACTIVE.lock().ok().and_then(|a| a.clone());
    match active {
        Some(bar) => bar.suspend(print),
        None => print(),
    }
}
