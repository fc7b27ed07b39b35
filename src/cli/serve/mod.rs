//! `git session serve`: a local, read-only web view of the saved sessions: the list, search, one
//! session as its HTML view with its saves and what each added.
//!
//! It listens on a loopback address only (127.0.0.1 unless `--bind` names another loopback
//! address; any other is refused), answers `GET` and `HEAD` and nothing else (405), only to
//! requests addressed to that loopback host (a guard against DNS rebinding), and writes nothing:
//! every page is read from the sessions refs when it is asked for. Pages carry the views'
//! Content-Security-Policy, so they load no script and nothing from anywhere. One request is
//! answered at a time; the first Ctrl-C stops the server after the request in hand.

mod http;
mod pages;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use clap::Args;

use super::{ui, CliError};
use crate::store::Store;

/// The port `serve` listens on unless `--port` says otherwise.
pub const DEFAULT_PORT: u16 = 8765;

/// How often the loop looks whether Ctrl-C was pressed while no request comes.
const POLL: Duration = Duration::from_millis(200);

/// Arguments of `git session serve`.
#[derive(Debug, Args)]
#[command(after_long_help = "Pages:
  /                 every saved session: agent, title, saves, size, last save
  /search?q=WORDS   search the newest save of every session (as 'git session search')
  /session/ID       one session: its saves, what each added, and the conversation
                    (?at=SAVE shows an older save)

Nothing can be changed through it, and it listens on loopback only; to look from another
machine, forward the port (ssh -L 8765:127.0.0.1:8765 HOST).

Examples:
  git session serve              # http://127.0.0.1:8765/
  git session serve --port 0     # a free port; the URL is printed")]
pub struct ServeArgs {
    /// The port to listen on (0 picks a free one).
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// The loopback address to listen on (127.0.0.1, another 127.x.y.z, or ::1).
    #[arg(long, value_name = "ADDRESS", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
}

pub(crate) fn run(store: &Store, args: ServeArgs) -> Result<(), CliError> {
    if !args.bind.is_loopback() {
        return Err(CliError::usage(format!(
            "serve listens on a loopback address only, and {} is not one",
            args.bind
        ))
        .hint(format!(
            "leave out --bind (127.0.0.1); to look from another machine, forward the port: ssh -L {0}:127.0.0.1:{0} HOST",
            if args.port == 0 { DEFAULT_PORT } else { args.port }
        )));
    }
    let wanted = SocketAddr::new(args.bind, args.port);
    let server = tiny_http::Server::http(wanted).map_err(|e| {
        let hint = if args.port == 0 {
            "check that the loopback interface is up".to_owned()
        } else {
            format!(
                "pick another port with --port N, or --port 0 for a free one (port {} may be in use)",
                args.port
            )
        };
        CliError::user(format!("cannot listen on {wanted}: {e}")).hint(hint)
    })?;
    let addr = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| CliError::user("the server is not listening on an IP address"))?;
    let url = http::base_url(addr);
    ui::out(&format!("{url}\n"));
    ui::status(&format!(
        "Serving the saved sessions of this repository at {url} (read-only; Ctrl-C stops it)."
    ));
    let site = pages::Site::new(store);
    loop {
        if gix::interrupt::is_triggered() {
            ui::status("Stopped.");
            return Ok(());
        }
        match server.recv_timeout(POLL) {
            Ok(Some(request)) => http::answer(&site, addr, request),
            Ok(None) => {}
            Err(e) => {
                return Err(CliError::user(format!("the server stopped: {e}"))
                    .hint("run 'git session serve' again"))
            }
        }
    }
}
