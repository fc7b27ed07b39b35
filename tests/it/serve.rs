//! The browser views: `git session serve`'s pages in headless Chromium (the list, a search, a
//! session with its saves and a tool call's output; screenshots under `target/serve-screenshots/`),
//! what the server refuses (any method but GET and HEAD, another host name, a non-loopback
//! address), and `show --format html --open` handing a kept temp file to the platform's opener.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::browser::Chromium;
use crate::support::{gen, write_json, Repo, TestEnv, COMPACTED, TOOLCALL};

/// A tool output planted in the session: markup in it must show as text.
const PLANTED: &str = "PLANTED-serve-output <b>not bold</b> & done";

/// A running `git session serve --port 0`, stopped (and reaped) on drop.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(repo: &Repo<'_>) -> Self {
        let mut child = repo
            .env
            .git_session_command(&repo.dir)
            .args(["serve", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start git-session serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the URL");
        let url = line.trim().to_owned();
        assert!(
            url.starts_with("http://127.0.0.1:") && url.ends_with('/'),
            "serve prints its URL first: {line:?}"
        );
        Server { child, url }
    }

    fn port(&self) -> u16 {
        self.url
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a port in the URL")
    }

    /// Sends `request` as it is and returns the whole answer (the server closes after it).
    fn raw(&self, request: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port())).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        stream.write_all(request.as_bytes()).expect("send");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    }

    /// A request with `method` for `/`, addressed to `host`.
    fn request(&self, method: &str, host: &str) -> String {
        self.request_path(method, host, "/")
    }

    /// A request with `method` for `path`, addressed to `host`.
    fn request_path(&self, method: &str, host: &str, path: &str) -> String {
        self.raw(&format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ))
    }

    /// Sends SIGINT (Ctrl-C) and waits for the process: its exit status and stderr.
    fn interrupt(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        let killed = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("run kill");
        assert!(killed.success());
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "serve did not stop on Ctrl-C"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut err = String::new();
        let _ = self
            .child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut err);
        (status, err)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A repository with two sessions: TOOLCALL saved twice (its first message, then all three with
/// a planted tool output), and COMPACTED once.
fn repo_with_sessions(env: &TestEnv) -> Repo<'_> {
    let repo = env.repo_with_commit("work");
    let full = gen::with_bash_output(&TOOLCALL.json(), PLANTED);
    let mut first = full.clone();
    first["messages"].as_array_mut().unwrap().truncate(1);
    let (first_path, full_path) = (env.path("first.json"), env.path("full.json"));
    write_json(&first_path, &first);
    write_json(&full_path, &full);
    repo.save(&[&first_path]);
    repo.save(&[&full_path]);
    repo.save(&[&COMPACTED.path()]);
    repo
}

/// Where the screenshots go: `target/serve-screenshots/`.
fn screenshots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target dir")
        .join("serve-screenshots");
    std::fs::create_dir_all(&dir).expect("create the screenshots dir");
    dir
}

/// The `href` of the first link in `dom` whose target starts with `prefix`.
fn link(dom: &str, prefix: &str) -> String {
    let start = dom
        .find(&format!("href=\"{prefix}"))
        .unwrap_or_else(|| panic!("no link to {prefix}: {dom}"))
        + "href=\"".len();
    let end = start + dom[start..].find('"').expect("closing quote");
    dom[start..end].replace("&amp;", "&")
}

#[test]
fn serve_shows_the_list_a_search_and_a_session_with_its_tool_output_in_chromium() {
    let env = TestEnv::new();
    let repo = repo_with_sessions(&env);
    let server = Server::start(&repo);
    let Some(chromium) = Chromium::find(&env, "serve_shows_the_list_a_search_and_a_session") else {
        return;
    };
    let shots = screenshots_dir();

    // The list: both sessions with agent, saves and size, and a search form that sends `q` here.
    let list = chromium.dom(&server.url, Some(&shots.join("1-list.png")));
    assert!(list.contains("<h1>Saved sessions</h1>"), "{list}");
    assert!(
        list.contains(TOOLCALL.id) && list.contains(COMPACTED.id),
        "{list}"
    );
    assert!(list.contains("<td>OpenCode</td>"), "the agent: {list}");
    assert!(
        list.contains("<td class=\"num\">2</td>"),
        "TOOLCALL has two saves: {list}"
    );
    assert!(list.contains("KiB</td>"), "sizes: {list}");
    assert!(
        list.contains("<form action=\"/search\" method=\"get\"") && list.contains("name=\"q\""),
        "{list}"
    );

    // A search for a word of the planted output: one session matches, the match is marked, and
    // the hit links to its message in the session's page.
    let search_url = format!("{}search?q=PLANTED-serve", server.url);
    let found = chromium.dom(&search_url, Some(&shots.join("2-search.png")));
    assert!(
        found.contains("1 matching line in 1 session of 2 saved sessions"),
        "{found}"
    );
    assert!(found.contains("<mark>PLANTED-serve</mark>"), "{found}");
    let hit = link(&found, &format!("/session/{}#", TOOLCALL.id));

    // The session, opened from the search hit: the tool call's output as text (its markup
    // escaped, not parsed), and both saves with what each added.
    let (page, message) = hit.split_once('#').expect("the hit names its message");
    let session = chromium.dom(
        &format!("{}{page}", server.url.trim_end_matches('/')),
        Some(&shots.join("3-session.png")),
    );
    assert!(
        session.contains(&format!("id=\"{message}\"")),
        "the message the hit links to is on the page: {session}"
    );
    assert!(
        session.contains("PLANTED-serve-output &lt;b&gt;not bold&lt;/b&gt; &amp; done"),
        "the tool output shows as text: {session}"
    );
    assert!(!session.contains("<b>not bold</b>"), "{session}");
    assert!(session.contains("Tool <code>bash</code>"), "{session}");
    assert!(session.contains("2 saves, newest first"), "{session}");
    assert!(
        session.contains("+2 messages") && session.contains("+1 message: "),
        "each save says what it added: {session}"
    );
    for shot in ["1-list.png", "2-search.png", "3-session.png"] {
        let size = std::fs::metadata(shots.join(shot)).map(|m| m.len());
        assert!(size.unwrap_or(0) > 10_000, "{shot} is a real screenshot");
    }
}

#[test]
fn serve_answers_get_and_head_on_loopback_only_and_stops_on_ctrl_c() {
    let env = TestEnv::new();
    let repo = repo_with_sessions(&env);
    let refs_before = repo.refs();
    let server = Server::start(&repo);
    let host = format!("127.0.0.1:{}", server.port());

    let get = server.request("GET", &host);
    assert!(get.starts_with("HTTP/1.1 200"), "{get}");
    for header in [
        "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'",
        "frame-ancestors 'none'",
        "X-Content-Type-Options: nosniff",
    ] {
        assert!(get.contains(header), "{header}: {get}");
    }
    let head = server.request("HEAD", &host);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(!head.contains("<html"), "HEAD has no body: {head}");

    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let answer = server.request(method, &host);
        assert!(
            answer.starts_with("HTTP/1.1 405"),
            "{method} is refused: {answer}"
        );
        assert!(answer.contains("Allow: GET, HEAD"), "{answer}");
    }
    let rebound = server.request("GET", &format!("attacker.example:{}", server.port()));
    assert!(
        rebound.starts_with("HTTP/1.1 403"),
        "a request for another host name (DNS rebinding) is refused: {rebound}"
    );
    assert_eq!(repo.refs(), refs_before, "nothing was written");

    // An older save by its commit, and pages that do not exist.
    let first = repo.git(&["rev-parse", &format!("{}~1", TOOLCALL.ref_name())]);
    let older = server.request_path(
        "GET",
        &host,
        &format!("/session/{}?at={}", TOOLCALL.id, first.trim()),
    );
    assert!(older.starts_with("HTTP/1.1 200"), "{older}");
    assert!(older.contains("<strong>showing the save of"), "{older}");
    assert!(
        !older.contains("PLANTED-serve-output"),
        "the first save has no tool output yet: {older}"
    );
    for missing in ["/session/ses_nothing", "/nothing", "/session/"] {
        let answer = server.request_path("GET", &host, missing);
        assert!(answer.starts_with("HTTP/1.1 404"), "{missing}: {answer}");
    }

    // The listening socket is bound to 127.0.0.1 and nothing else (Linux lists it in
    // /proc/net/tcp as 0100007F:<port hex>, state 0A; a wildcard bind would be 00000000).
    if let Ok(table) = std::fs::read_to_string("/proc/net/tcp") {
        let port = format!(":{:04X}", server.port());
        let listening: Vec<&str> = table
            .lines()
            .filter_map(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                (cols.len() > 3 && cols[1].ends_with(&port) && cols[3] == "0A").then_some(cols[1])
            })
            .collect();
        assert_eq!(
            listening,
            [format!("0100007F{port}")],
            "listens on 127.0.0.1 only"
        );
        let table6 = std::fs::read_to_string("/proc/net/tcp6").unwrap_or_default();
        assert!(
            !table6.lines().any(|l| l
                .split_whitespace()
                .nth(1)
                .is_some_and(|a| a.ends_with(&port))),
            "and not on IPv6: {table6}"
        );
    }

    let (status, stderr) = server.interrupt();
    assert_eq!(status.code(), Some(0), "Ctrl-C stops it cleanly: {stderr}");
    assert!(stderr.trim_end().ends_with("Stopped."), "{stderr}");
}

#[test]
fn serve_refuses_a_non_loopback_address_and_says_what_to_do_with_a_busy_port() {
    let env = TestEnv::new();
    let repo = env.repo_with_commit("work");
    for address in ["0.0.0.0", "::", "192.0.2.1"] {
        let refused = repo.git_session(&["serve", "--bind", address, "--port", "0"]);
        assert_eq!(refused.code, Some(129), "{refused}");
        refused.single_error(&["loopback address only", address]);
        assert!(
            refused.hint_lines()[0].contains("ssh -L"),
            "the hint says how to look from elsewhere: {refused}"
        );
    }
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = busy.local_addr().unwrap().port().to_string();
    let taken = repo.git_session(&["serve", "--port", &port]).failure();
    taken.single_error(&["cannot listen on 127.0.0.1:", &port]);
    assert!(
        taken.hint_lines()[0].contains("--port 0"),
        "the hint names a way out: {taken}"
    );
}

/// Runs `show TOOLCALL --open` (and `extra`) with `bin` as the whole PATH and TMPDIR below the
/// test's root; returns the run and that TMPDIR.
#[cfg(target_os = "linux")]
fn show_open(repo: &Repo<'_>, bin: &Path, extra: &[&str]) -> (crate::support::Run, PathBuf) {
    let tmp = repo.env.path("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut args = vec!["show", TOOLCALL.id, "--open"];
    args.extend_from_slice(extra);
    let run = crate::support::Run::from(
        format!("git-session {}", args.join(" ")),
        repo.env
            .git_session_command(&repo.dir)
            .args(&args)
            .env("PATH", bin)
            .env("TMPDIR", &tmp)
            .env("RECORD", repo.env.path("opened"))
            .output(),
    );
    (run, tmp)
}

#[cfg(target_os = "linux")]
#[test]
fn show_open_writes_the_page_to_a_kept_temp_file_and_hands_it_to_the_opener() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    let repo = repo_with_sessions(&env);
    let page = repo
        .git_session(&["show", TOOLCALL.id, "--format", "html"])
        .success()
        .stdout;
    let bin = env.path("fakebin");
    std::fs::create_dir_all(&bin).unwrap();
    let opener = bin.join("xdg-open");
    std::fs::write(&opener, "#!/bin/sh\nprintf '%s' \"$1\" > \"$RECORD\"\n").unwrap();
    std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).unwrap();

    let (opened, tmp) = show_open(&repo, &bin, &["--format", "html"]);
    let opened = opened.success();
    assert_eq!(opened.stdout, "", "the page goes to the file, not stdout");
    let handed = std::fs::read_to_string(env.path("opened")).expect("the opener ran");
    let file = PathBuf::from(&handed);
    assert!(
        file.starts_with(&tmp) && handed.ends_with(".html"),
        "{handed}"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        page,
        "the file is the page"
    );
    assert_eq!(
        opened.stderr,
        format!("Opened {handed} in the browser (the file stays; delete it when done).\n")
    );

    // An opener that fails, and none at all: the page is still written, and the error says
    // which file to open by hand.
    std::fs::write(&opener, "#!/bin/sh\nexit 3\n").unwrap();
    let (failed, _) = show_open(&repo, &bin, &[]);
    failed
        .failure()
        .single_error(&["xdg-open could not open the page"]);
    let (none, _) = show_open(&repo, &env.path("empty-bin"), &[]);
    let none = none.failure();
    none.single_error(&["there is no xdg-open to open the page with"]);
    let hint = none.hint_lines()[0]
        .strip_prefix("hint: open ")
        .and_then(|h| h.strip_suffix(" in a browser by hand"))
        .unwrap_or_else(|| panic!("the hint names the file: {none}"))
        .to_owned();
    assert_eq!(std::fs::read_to_string(&hint).unwrap(), page, "{none}");

    let md = repo.git_session(&["show", TOOLCALL.id, "--format", "md", "--open"]);
    assert_eq!(md.code, Some(129), "{md}");
    md.single_error(&["--open shows the HTML page"]);
}
