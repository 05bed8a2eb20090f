//! `quire-netns`: network namespaces for Quire's multi-host tests (Linux, root).
//!
//! A [`Host`] is a network namespace with its loopback up; [`link`] joins two hosts
//! with a veth pair and gives each end an address; [`Host::command`] runs a program
//! inside. Hosts are removed on drop, and [`Stop`] stops a long-running program
//! (SIGTERM, then waits for it), so a failing test leaves nothing behind.
//!
//! Every call that sets something up returns the failing command's own words as the
//! error, so a test can print why it skipped (not root, no `ip`) or why it failed.

use std::ffi::OsStr;
use std::process::{Child, Command};

/// Runs `program` with `args` to completion; its standard error is the error.
pub fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Whether this process runs as root (what namespaces and iptables need).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// The variable that lets a namespace test skip where namespaces cannot be made:
/// `QUIRE_NETNS=skip`. Without it such a test fails, so that a machine that cannot
/// run it never reports it as passed.
pub const SKIP_VARIABLE: &str = "QUIRE_NETNS";

/// Whether a test that could not set up its namespaces (for `reason`) may skip:
/// only when [`SKIP_VARIABLE`] says `skip`, and then it prints that it skipped.
/// Otherwise it panics with the reason and how to run or skip the test.
#[track_caller]
pub fn skip_or_fail(what: &str, reason: &str) {
    if std::env::var(SKIP_VARIABLE).as_deref() == Ok("skip") {
        println!("SKIPPED ({SKIP_VARIABLE}=skip): {what}: {reason}");
        return;
    }
    panic!(
        "{what} needs network namespaces, which could not be made ({reason}); \
         run the tests as root with `ip` and `iptables` installed, or set {SKIP_VARIABLE}=skip to skip it"
    );
}

/// A network namespace with its loopback up; deleted on drop.
#[derive(Debug)]
pub struct Host {
    name: String,
}

impl Host {
    /// Makes the namespace `name` (unique on the machine: add the process id).
    pub fn new(name: impl Into<String>) -> Result<Self, String> {
        let host = Self { name: name.into() };
        run("ip", &["netns", "add", &host.name])?;
        host.ip(&["link", "set", "lo", "up"])?;
        Ok(host)
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip -n <host> args…`: configures the host's interfaces and routes.
    pub fn ip(&self, args: &[&str]) -> Result<(), String> {
        let mut full = vec!["-n", &self.name];
        full.extend_from_slice(args);
        run("ip", &full)
    }

    /// Runs `args` (a program and its arguments) inside the host, to completion.
    pub fn run(&self, args: &[&str]) -> Result<(), String> {
        let mut full = vec!["netns", "exec", &self.name];
        full.extend_from_slice(args);
        run("ip", &full)
    }

    /// A command that runs `program` inside the host; add its arguments.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name]).arg(program);
        cmd
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = run("ip", &["netns", "del", &self.name]);
    }
}

/// One end of a [`link`]: the host, the name of its interface, its address
/// (`10.0.0.1/24`).
pub type End<'a> = (&'a Host, &'a str, &'a str);

/// Joins two hosts with a veth pair, addresses both ends and brings them up. The
/// interfaces go when their hosts do.
pub fn link(a: End<'_>, b: End<'_>) -> Result<(), String> {
    run(
        "ip",
        &["link", "add", a.1, "type", "veth", "peer", "name", b.1],
    )?;
    for (host, dev, addr) in [a, b] {
        run("ip", &["link", "set", dev, "netns", host.name()])?;
        host.ip(&["addr", "add", addr, "dev", dev])?;
        host.ip(&["link", "set", dev, "up"])?;
    }
    Ok(())
}

/// A running program, stopped with SIGTERM and waited for on drop.
#[derive(Debug)]
pub struct Stop(pub Child);

impl Drop for Stop {
    fn drop(&mut self) {
        let _ = run("kill", &["-TERM", &self.0.id().to_string()]);
        let _ = self.0.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_command_says_what_failed() {
        let err = run("sh", &["-c", "echo no such thing >&2; exit 3"])
            .err()
            .unwrap_or_default();
        assert_eq!(err, "sh -c echo no such thing >&2; exit 3: no such thing");
        assert!(run("this-program-does-not-exist", &[]).is_err());
        assert_eq!(run("true", &[]), Ok(()));
    }
}
