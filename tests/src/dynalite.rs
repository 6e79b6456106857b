//! `dynalite` on 127.0.0.1: a second DynamoDB implementation (Node.js, from the npm registry),
//! for the benchmark's timed no-op. moto answers a Query by deep-copying every item of the
//! partition in Python on every page (seconds for 10,000 mappings), which hides the sync's
//! own time; dynalite reads the page's range only. It has no TTL API, so its table is made
//! without the run expiry (nothing here waits for items to expire).
//!
//! Installed on first use with `npm install` into `~/.cache/dirsync-tools/dynalite`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use dirsync::store::{create_table_and_indexes, DynamoStore};
use rand::Rng;

use crate::moto::test_config;
use crate::slapd::{free_port, wait_for_port};

const PACKAGE: &str = "dynalite@4.0.0";

/// A running dynalite, in memory, killed when dropped.
pub struct Dynalite {
    child: Child,
    pub endpoint: String,
}

fn install_dir() -> PathBuf {
    let home = std::env::var_os("HOME").map_or_else(std::env::temp_dir, PathBuf::from);
    home.join(".cache/dirsync-tools/dynalite")
}

/// The dynalite command, installed from the npm registry when missing.
fn installed() -> PathBuf {
    let dir = install_dir();
    let script = dir.join("node_modules/dynalite/cli.js");
    if !script.exists() {
        std::fs::create_dir_all(&dir).expect("the dynalite install folder");
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
            .arg(&dir)
            .arg(PACKAGE)
            .status()
            .expect("npm (Node.js) is installed: dynalite is an npm package");
        assert!(status.success(), "npm install {PACKAGE} failed");
    }
    script
}

impl Dynalite {
    /// Starts dynalite on a free port of 127.0.0.1 (tables ACTIVE at once) and waits until it
    /// answers.
    pub fn start() -> Self {
        let port = free_port();
        let mut child = Command::new("node")
            .arg(installed())
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--createTableMs", "0", "--deleteTableMs", "0"])
            .args(["--updateTableMs", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node starts dynalite");
        wait_for_port(port, "dynalite", &mut child);
        Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// A new table with a random name, created as the store expects it (less the TTL).
    pub async fn store(&self) -> DynamoStore {
        let table = format!("dirsync-bench-{:08x}", rand::rng().random::<u32>());
        let client = aws_sdk_dynamodb::Client::new(&test_config(&self.endpoint).await);
        create_table_and_indexes(&client, &table)
            .await
            .expect("create table");
        DynamoStore::new(client, table)
    }
}

impl Drop for Dynalite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
