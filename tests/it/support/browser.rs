//! Headless Chromium (Debian's `chromium`) for the tests that look at pages as a browser shows
//! them: the DOM as Chromium parsed it, and a screenshot.
//!
//! Without `chromium` on PATH a test skips loudly; with `GIT_SESSION_REQUIRE_E2E=1` (CI) it fails.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use super::TestEnv;

/// How long one page load may take.
const LIMIT: Duration = Duration::from_secs(120);

/// A headless Chromium with its own profile below the test's temporary root.
pub struct Chromium<'a> {
    env: &'a TestEnv,
    profile: PathBuf,
}

impl<'a> Chromium<'a> {
    /// Chromium when it is installed; `None` (after a SKIPPED note) when it is not, a panic when
    /// it is not and `GIT_SESSION_REQUIRE_E2E=1`.
    pub fn find(env: &'a TestEnv, test: &str) -> Option<Self> {
        if !on_path("chromium") {
            if std::env::var_os("GIT_SESSION_REQUIRE_E2E").is_some_and(|v| v == "1") {
                panic!("chromium is not on PATH and GIT_SESSION_REQUIRE_E2E=1");
            }
            eprintln!(
                "\n*** SKIPPED: {test}: chromium is not on PATH (apt-get install chromium; set \
                 GIT_SESSION_REQUIRE_E2E=1 to fail instead) ***\n"
            );
            return None;
        }
        Some(Chromium {
            env,
            profile: env.path("chromium-profile"),
        })
    }

    /// Loads `url` and returns the DOM as Chromium parsed it; with `screenshot`, also writes a
    /// PNG of the page (1280x1600) there, in the same load.
    pub fn dom(&self, url: &str, screenshot: Option<&Path>) -> String {
        let mut args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1280,1600",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(format!("--user-data-dir={}", self.profile.display()));
        if let Some(png) = screenshot {
            args.push(format!("--screenshot={}", png.display()));
        }
        args.push("--dump-dom".to_owned());
        args.push(url.to_owned());
        let out = run_with_timeout(self.env, "chromium", &args, LIMIT);
        assert!(
            out.status.success(),
            "chromium failed on {url}: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        if let Some(png) = screenshot {
            let bytes = std::fs::read(png).unwrap_or_default();
            assert!(
                bytes.starts_with(b"\x89PNG"),
                "chromium wrote no screenshot of {url} to {}",
                png.display()
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// Runs `program` in the test's environment, killed (and the test failed) after `limit`. Its
/// output goes through files, so a large page cannot fill a pipe and stall it.
pub fn run_with_timeout(env: &TestEnv, program: &str, args: &[String], limit: Duration) -> Output {
    let dir = tempfile::tempdir_in(env.root()).expect("a folder for the output");
    let (out_path, err_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let file = |p: &Path| std::fs::File::create(p).expect("an output file");
    let mut child = env
        .command(program)
        .args(args)
        .stdout(file(&out_path))
        .stderr(file(&err_path))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{program} did not finish in {limit:?}:\n{}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: std::fs::read(&out_path).unwrap_or_default(),
        stderr: std::fs::read(&err_path).unwrap_or_default(),
    }
}

/// Whether `program` is an executable file in a directory of PATH.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}
