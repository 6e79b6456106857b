//! The README's curl session, run as it stands against a `dirsync-local` started on its
//! embedded defaults (demo included) in a fresh folder.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// The shell block that follows the `<!-- api-session -->` marker in README.md.
fn readme_session() -> String {
    let readme = include_str!("../../../README.md");
    let after = readme
        .split("<!-- api-session -->")
        .nth(1)
        .expect("README has the API session");
    let block = after
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("a sh block follows the marker");
    block.to_string()
}

#[test]
fn the_readme_api_session_works_against_dirsync_local() {
    let dir = tempfile::tempdir().unwrap();
    let binary = env!("CARGO_BIN_EXE_dirsync-local");
    let mut service = Command::new(binary)
        .args(["--listen", "127.0.0.1:0", "--tick-seconds", "3600"])
        .current_dir(dir.path())
        .env_remove("DIRSYNC_JWT_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dirsync-local starts");
    let mut lines = BufReader::new(service.stdout.take().unwrap()).lines();
    let api = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            let rest = line.strip_prefix("API: ")?;
            rest.split_whitespace().next().map(str::to_string)
        })
        .expect("dirsync-local prints its API address");
    // Keep reading what the service prints, so that it never writes into a closed pipe.
    let drain = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());

    let output = Command::new("bash")
        .arg("-c")
        .arg(readme_session())
        .current_dir(dir.path())
        .env("API", &api)
        .env("DIRSYNC_LOCAL", binary)
        .env_remove("DIRSYNC_JWT_SECRET")
        .output()
        .expect("bash runs");
    let _ = service.kill();
    let _ = service.wait();
    let printed = drain.join().unwrap_or_default().join("\n");
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "session failed:\n{out}\n{err}");
    // The demo's first sync happened at start-up, so this one changes nothing.
    assert!(
        out.contains(r#""summary":"Everything is up to date""#),
        "{out}"
    );
    assert!(
        out.contains(r#""ok":true"#),
        "the connection test passed: {out}"
    );
    assert!(
        out.contains(r#""max_deletes":5"#),
        "the config was stored: {out}"
    );
    assert!(out.contains(r#""synced_extensions":21"#), "{out}");
    assert!(
        printed.contains("(manual): success: Everything is up to date"),
        "{printed}"
    );
}
