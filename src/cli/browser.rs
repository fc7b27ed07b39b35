//! Opening a page in the user's browser with the platform's opener: `open` on macOS,
//! `cmd /C start` on Windows, `xdg-open` elsewhere (it honours `BROWSER` and the desktop's
//! choice). The opener runs detached; an opener that fails at once is reported, one still
//! running after a moment is left to finish on its own.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::CliError;

/// How long to wait for the opener to say it failed.
const WAIT: Duration = Duration::from_secs(3);

/// The opener's program and the arguments before the file.
fn opener() -> (&'static str, &'static [&'static str]) {
    if cfg!(target_os = "macos") {
        ("open", &[])
    } else if cfg!(windows) {
        // `start`'s first quoted argument is a window title: an empty one keeps the path a path.
        ("cmd", &["/C", "start", ""])
    } else {
        ("xdg-open", &[])
    }
}

/// Opens `path` with the platform's opener; an error names the file to open by hand.
pub(crate) fn open(path: &Path) -> Result<(), CliError> {
    let (program, args) = opener();
    let by_hand = format!("open {} in a browser by hand", path.display());
    let mut child = Command::new(program)
        .args(args)
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            let what = if e.kind() == std::io::ErrorKind::NotFound {
                format!("there is no {program} to open the page with")
            } else {
                format!("cannot run {program} to open the page: {e}")
            };
            CliError::user(what).hint(&by_hand)
        })?;
    let started = Instant::now();
    while started.elapsed() < WAIT {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                return Err(
                    CliError::user(format!("{program} could not open the page ({status})"))
                        .hint(by_hand),
                )
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(_) => return Ok(()),
        }
    }
    // Still running: it is starting the browser, which may outlive this process.
    Ok(())
}
