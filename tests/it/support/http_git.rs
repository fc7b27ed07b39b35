//! A real smart-HTTP git server on 127.0.0.1: `git http-backend` (CGI) behind lighttpd, with HTTP
//! basic auth, started by a test and stopped when it is dropped.
//!
//! Each server has its own temporary directory: the generated `lighttpd.conf`, an htpasswd file
//! (`{SHA}` entries, as `htpasswd -s` writes them) for [`USER`] with [`PASSWORD`], the bare
//! repositories it serves under `repos/` (URL `http://127.0.0.1:<port>/git/<name>`), a `HOME` of
//! its own for the CGI (no git config but what a test writes), and the access log, whose byte
//! counts [`HttpGitServer::stop`] returns. Every request needs the password; pushes are allowed
//! (http-backend enables receive-pack for an authenticated user). The port is a free one picked
//! at start; a server that loses the race for it is started again on another port.
//!
//! lighttpd starts in a few milliseconds, so each test starts its own server and can give its
//! repositories hooks of their own. Without lighttpd (`GIT_SESSION_LIGHTTPD`, else `lighttpd` on
//! PATH, else `/usr/sbin/lighttpd`), [`server_or_skip`] prints a SKIPPED note, or fails the test
//! when `GIT_SESSION_REQUIRE_E2E=1` (CI installs Debian's `lighttpd`).
//!
//! Self-contained (std, tempfile and gix's SHA-1 only), so `benches/http.rs` includes it too.

#![allow(dead_code)] // The benchmark uses a part of it.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The user every server accepts.
pub const USER: &str = "alice";
/// That user's password.
pub const PASSWORD: &str = "s3cret-http-pass";

/// How long a server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running lighttpd serving `git http-backend`; stopped (SIGTERM, then waited for) on drop.
pub struct HttpGitServer {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

/// What went through a server, from its access log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// HTTP requests answered (including the 401s that ask for credentials).
    pub requests: u64,
    /// Bytes received from clients (requests with headers).
    pub bytes_in: u64,
    /// Bytes sent to clients (responses with headers).
    pub bytes_out: u64,
}

/// The lighttpd binary, when one is installed.
pub fn lighttpd() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("GIT_SESSION_LIGHTTPD") {
        // Named explicitly: that one, or none (no fallback to another install).
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("lighttpd"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let sbin = PathBuf::from("/usr/sbin/lighttpd");
        sbin.is_file().then_some(sbin)
    })
}

/// Starts a server, or returns `None` after printing a SKIPPED note when lighttpd is not
/// installed; panics instead when `GIT_SESSION_REQUIRE_E2E=1`.
pub fn server_or_skip(test: &str) -> Option<HttpGitServer> {
    if lighttpd().is_none() {
        if std::env::var("GIT_SESSION_REQUIRE_E2E").as_deref() == Ok("1") {
            panic!("{test}: lighttpd is not installed (GIT_SESSION_LIGHTTPD, else lighttpd on PATH, else /usr/sbin/lighttpd) and GIT_SESSION_REQUIRE_E2E=1");
        }
        eprintln!(
            "\n*** SKIPPED: lighttpd not installed: {test} did not run (apt-get install lighttpd, or set GIT_SESSION_LIGHTTPD; GIT_SESSION_REQUIRE_E2E=1 makes this a failure) ***\n"
        );
        return None;
    }
    Some(HttpGitServer::start())
}

impl HttpGitServer {
    /// Starts lighttpd on a free port of 127.0.0.1 and waits until it accepts connections.
    /// Panics when lighttpd is missing or does not start.
    pub fn start() -> Self {
        let lighttpd = lighttpd().expect("lighttpd is installed");
        let dir = tempfile::Builder::new()
            .prefix("git-session-http.")
            .tempdir()
            .expect("create the server's temp dir");
        for sub in ["repos", "www", "home"] {
            std::fs::create_dir(dir.path().join(sub)).expect("create a server dir");
        }
        std::fs::write(
            dir.path().join("htpasswd"),
            format!("{USER}:{}\n", htpasswd_sha(PASSWORD)),
        )
        .expect("write the htpasswd file");
        let mut last_error = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            std::fs::write(dir.path().join("lighttpd.conf"), config(dir.path(), port))
                .expect("write lighttpd.conf");
            let mut child = Command::new(&lighttpd)
                .arg("-D")
                .arg("-f")
                .arg(dir.path().join("lighttpd.conf"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", lighttpd.display()));
            let started = Instant::now();
            loop {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return HttpGitServer {
                        dir,
                        port,
                        child: Some(child),
                    };
                }
                if let Ok(Some(status)) = child.try_wait() {
                    // Lost the port to another process, or a bad config: say why, try again.
                    let log =
                        std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
                    last_error = format!("lighttpd exited with {status}: {log}");
                    break;
                }
                if started.elapsed() > START_TIMEOUT {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("lighttpd did not accept connections on port {port} within {START_TIMEOUT:?}");
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        panic!("lighttpd did not start: {last_error}");
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`: what a credential entry for this server names.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The URL of the repository `name` (such as `team.git`), without credentials.
    pub fn url(&self, name: &str) -> String {
        format!("{}/git/{name}", self.origin())
    }

    /// The directory of the repository `name` on the server's disk.
    pub fn repo_dir(&self, name: &str) -> PathBuf {
        self.dir.path().join("repos").join(name)
    }

    /// Creates the bare repository `name` (`git init --bare`) and returns its directory.
    pub fn create_bare(&self, name: &str) -> PathBuf {
        let dir = self.repo_dir(name);
        let status = Command::new("git")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .args(["init", "--quiet", "--bare", "--initial-branch=main"])
            .arg(&dir)
            .stdin(Stdio::null())
            .status()
            .expect("run git init --bare");
        assert!(status.success(), "git init --bare {}", dir.display());
        dir
    }

    /// Installs `script` as the executable hook `hook` (such as `pre-receive`) of `repo`.
    pub fn install_hook(&self, repo: &str, hook: &str, script: &str) {
        use std::os::unix::fs::PermissionsExt;
        let path = self.repo_dir(repo).join("hooks").join(hook);
        std::fs::write(&path, script).expect("write the hook");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("make the hook executable");
    }

    /// Stops the server (its access log is written out on exit) and returns what went through.
    pub fn stop(mut self) -> Traffic {
        self.terminate();
        traffic(&self.dir.path().join("access.log"))
    }

    fn terminate(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SIGTERM (by this child's own pid): lighttpd then writes out its buffered access log.
        let _ = Command::new("kill")
            .arg(child.id().to_string())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for HttpGitServer {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// An htpasswd entry's hash as `htpasswd -s` writes it: `{SHA}` and the base64 of the SHA-1.
pub fn htpasswd_sha(password: &str) -> String {
    let mut hasher = gix::hash::hasher(gix::hash::Kind::Sha1);
    hasher.update(password.as_bytes());
    let digest = hasher.try_finalize().expect("SHA-1 of a password");
    format!("{{SHA}}{}", base64(digest.as_bytes()))
}

/// Standard base64 with padding (20 bytes of SHA-1 need nothing more).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A port nobody listens on now (the OS picks it; lighttpd binds it a moment later).
fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
        .port()
}

/// The directory holding `git-http-backend` (`git --exec-path`).
fn exec_path() -> PathBuf {
    let out = Command::new("git")
        .arg("--exec-path")
        .output()
        .expect("run git --exec-path");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// lighttpd's config: http-backend as a CGI under `/git/`, basic auth on everything, an access
/// log of bytes in and out, and a CGI environment of its own.
fn config(dir: &Path, port: u16) -> String {
    let d = dir.display();
    let backend = exec_path().join("git-http-backend");
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".to_owned());
    format!(
        r#"server.document-root = "{d}/www"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{d}/error.log"
server.modules = ("mod_alias", "mod_setenv", "mod_auth", "mod_authn_file", "mod_cgi", "mod_accesslog")
accesslog.filename = "{d}/access.log"
accesslog.format = "%I %O %s %r"
alias.url = ("/git/" => "{backend}/")
$HTTP["url"] =~ "^/git/" {{
  cgi.assign = ("" => "")
  setenv.set-environment = (
    "GIT_PROJECT_ROOT" => "{d}/repos",
    "GIT_HTTP_EXPORT_ALL" => "1",
    "PATH" => "{path}",
    "HOME" => "{d}/home",
    "GIT_CONFIG_NOSYSTEM" => "1",
    "LC_ALL" => "C"
  )
}}
auth.backend = "htpasswd"
auth.backend.htpasswd.userfile = "{d}/htpasswd"
auth.require = ("/" => ("method" => "basic", "realm" => "git", "require" => "valid-user"))
"#,
        backend = backend.display()
    )
}

/// Sums the access log's `bytes-in bytes-out status request` lines.
fn traffic(log: &Path) -> Traffic {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut t = Traffic::default();
    for line in text.lines() {
        let mut fields = line.split(' ');
        let (Some(i), Some(o)) = (fields.next(), fields.next()) else {
            continue;
        };
        t.requests += 1;
        t.bytes_in += i.parse::<u64>().unwrap_or(0);
        t.bytes_out += o.parse::<u64>().unwrap_or(0);
    }
    t
}

#[cfg(test)]
mod tests {
    #[test]
    fn htpasswd_sha_matches_what_htpasswd_s_writes() {
        // `printf secret | openssl sha1 -binary | base64`
        assert_eq!(
            super::htpasswd_sha("secret"),
            "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="
        );
        assert_eq!(super::base64(b"ab"), "YWI=");
        assert_eq!(super::base64(b"a"), "YQ==");
    }
}
