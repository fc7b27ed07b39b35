//! Color the way git colors: `--color=auto|always|never` first, then `color.session`, then
//! `color.ui` (each `always`, `auto`/`true` or `never`/`false`); `auto` colors a terminal, or git's
//! pager, unless `NO_COLOR` is set or `TERM=dumb`. The styles are git's own choices (`git log`,
//! `git grep`), so a blame-like output reuses them through [`Palette`].

use std::io::IsTerminal;

use anstyle::{AnsiColor, Style};
use clap::{Args, ValueEnum};

use crate::store::Store;

/// When to color, as git's `--color` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// Color when the output goes to a terminal (or git's pager).
    Auto,
    /// Always color, also into a pipe or a file.
    Always,
    /// Never color.
    Never,
}

/// The options of commands whose output people read: `--color` and `--no-pager`.
#[derive(Debug, Clone, Default, Args)]
pub struct DisplayArgs {
    /// Color the output: auto (a terminal), always or never; `--color` alone is always. Default:
    /// git config color.session, then color.ui, else auto.
    #[arg(long, value_name = "WHEN", num_args = 0..=1, require_equals = true, default_missing_value = "always")]
    pub color: Option<ColorWhen>,
    /// Do not page the output (see `core.pager`, `GIT_PAGER`, `pager.session`).
    #[arg(long)]
    pub no_pager: bool,
}

/// The styles of git-session's outputs, named by what they mark.
pub mod styles {
    use super::*;

    /// A commit id, as `git log` shows it (yellow).
    pub const COMMIT: Style = AnsiColor::Yellow.on_default();
    /// A session id (yellow, like a commit: both name a history).
    pub const ID: Style = AnsiColor::Yellow.on_default();
    /// A column header (bold).
    pub const HEADER: Style = Style::new().bold();
    /// A time (green, as `git log --format` shows `%C(green)%cr` commonly).
    pub const TIME: Style = AnsiColor::Green.on_default();
    /// A file or session name in a match line, as `git grep`'s `color.grep.filename` (magenta).
    pub const FILENAME: Style = AnsiColor::Magenta.on_default();
    /// A line or message number, as `git grep`'s `color.grep.lineNumber` (green).
    pub const LINE_NUMBER: Style = AnsiColor::Green.on_default();
    /// The `:` between fields, as `git grep`'s `color.grep.separator` (cyan).
    pub const SEPARATOR: Style = AnsiColor::Cyan.on_default();
    /// The matched text, as `git grep`'s `color.grep.match` (bold red).
    pub const MATCH: Style = AnsiColor::Red.on_default().bold();
    /// Something removed or marked deleted (red).
    pub const DELETED: Style = AnsiColor::Red.on_default();
    /// An agent or a remote name (cyan).
    pub const AGENT: Style = AnsiColor::Cyan.on_default();
    /// Something dim: a reason, a note (faint).
    pub const DIM: Style = Style::new().dimmed();
}

/// Paints text in a style, or leaves it plain when color is off.
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    enabled: bool,
}

impl Palette {
    /// A palette that colors (`true`) or leaves every text plain.
    pub fn new(enabled: bool) -> Self {
        Palette { enabled }
    }

    /// Whether this palette colors.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// `text` in `style` (plain when color is off).
    pub fn paint(&self, style: Style, text: &str) -> String {
        if self.enabled && !text.is_empty() {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_owned()
        }
    }
}

/// Whether to color stdout: the flag, else `color.session`, else `color.ui`, else auto. `paging`
/// says a pager was started, which git treats as a terminal.
pub fn color_enabled(store: Option<&Store>, flag: Option<ColorWhen>, paging: bool) -> bool {
    let configured = || {
        let store = store?;
        ["color.session", "color.ui"]
            .iter()
            .find_map(|key| store.config_string(key).and_then(|v| parse_config(&v)))
    };
    match flag.or_else(configured).unwrap_or(ColorWhen::Auto) {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => auto(paging),
    }
}

/// `auto`: `NO_COLOR` (any value) and `TERM=dumb` turn color off; a pager git or this process
/// started counts as a terminal; else what anstream detects for stdout.
fn auto(paging: bool) -> bool {
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return false;
    }
    if std::env::var("TERM").is_ok_and(|t| t == "dumb") {
        return false;
    }
    let git_pager = std::env::var("GIT_PAGER_IN_USE").is_ok_and(|v| git_bool(&v) == Some(true));
    if paging || git_pager {
        return true;
    }
    let stdout = std::io::stdout();
    stdout.is_terminal() && anstream::AutoStream::choice(&stdout) != anstream::ColorChoice::Never
}

/// A `color.*` value as git reads it: `always`; `auto` or true; `never` or false.
fn parse_config(value: &str) -> Option<ColorWhen> {
    match value.to_ascii_lowercase().as_str() {
        "always" => Some(ColorWhen::Always),
        "auto" => Some(ColorWhen::Auto),
        "never" => Some(ColorWhen::Never),
        "" => None,
        other => match git_bool(other)? {
            true => Some(ColorWhen::Auto),
            false => Some(ColorWhen::Never),
        },
    }
}

/// A boolean as git reads it (`true yes on 1`, `false no off 0`, empty for true).
pub(crate) fn git_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "" | "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// Starts the pager when the output goes to a terminal (see [`super::pager`]) and returns the
/// palette for what follows: the shared start of `list`, `log`, `search` and the like.
pub(crate) fn start(store: &Store, args: &DisplayArgs) -> Palette {
    let paging = !args.no_pager && super::pager::start(store);
    Palette::new(color_enabled(Some(store), args.color, paging))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_values_are_read_as_git_reads_them() {
        assert_eq!(parse_config("always"), Some(ColorWhen::Always));
        assert_eq!(parse_config("true"), Some(ColorWhen::Auto));
        assert_eq!(parse_config("Auto"), Some(ColorWhen::Auto));
        assert_eq!(parse_config("false"), Some(ColorWhen::Never));
        assert_eq!(parse_config("never"), Some(ColorWhen::Never));
        assert_eq!(parse_config("sometimes"), None);
    }

    #[test]
    fn a_palette_without_color_leaves_text_plain() {
        assert_eq!(Palette::new(false).paint(styles::MATCH, "x"), "x");
        assert_eq!(
            Palette::new(true).paint(styles::MATCH, "x"),
            "\u{1b}[1m\u{1b}[31mx\u{1b}[0m"
        );
    }
}
