//! Samba as an Active Directory domain controller for one test: `samba-tool domain provision`
//! into a temp dir, entries loaded offline with `ldbadd`, then `samba -i` serving only LDAP on
//! 127.0.0.1 with a certificate made here. Samba's LDAP ports are fixed (389 and 636), so only
//! one such server can run at a time: the tests that use it live in one test function.
//! Needs Debian's `samba` and `ldb-tools` (scripts/test installs them).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::slapd::{certificates, wait_for_port};

pub const REALM: &str = "example.test";
pub const BASE_DN: &str = "DC=example,DC=test";
pub const ADMIN_PASSWORD: &str = "Adm1n-Passw0rd!";
/// The administrator by UPN, the way AD admins usually bind.
pub const ADMIN_UPN: &str = "Administrator@example.test";

pub struct Samba {
    pub ca_pem: String,
    child: Child,
    dir: tempfile::TempDir,
}

fn binary(name: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin"] {
        let path = Path::new(dir).join(name);
        if path.exists() {
            return path;
        }
    }
    panic!("{name} is not installed: run `bash scripts/test`, which installs samba and ldb-tools")
}

fn run(command: &mut Command, what: &str) -> String {
    let out = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Samba {
    /// Provisions a domain, adds `ldif` (entries under `BASE_DN`) and starts serving.
    pub fn start(ldif: &str) -> Self {
        for port in [389, 636] {
            assert!(
                std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
                "127.0.0.1:{port} is taken: Samba's LDAP ports cannot be moved"
            );
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path();
        let (ca_pem, cert, key, _) = certificates();
        std::fs::write(path.join("ca.pem"), &ca_pem).expect("ca");
        std::fs::write(path.join("cert.pem"), cert).expect("cert");
        std::fs::write(path.join("key.pem"), key).expect("key");
        // Samba refuses a private key that others may read.
        let mode = std::os::unix::fs::PermissionsExt::from_mode(0o600);
        std::fs::set_permissions(path.join("key.pem"), mode).expect("key mode");
        let d = path.display();
        let options = [
            "interfaces=127.0.0.1".to_string(),
            "bind interfaces only=yes".into(),
            "server services=ldap".into(),
            format!("log file={d}/log.%m"),
            "tls enabled=yes".into(),
            format!("tls keyfile={d}/key.pem"),
            format!("tls certfile={d}/cert.pem"),
            format!("tls cafile={d}/ca.pem"),
        ];
        let mut provision = Command::new(binary("samba-tool"));
        provision.args([
            "domain",
            "provision",
            "--server-role=dc",
            "--dns-backend=NONE",
        ]);
        provision.args([
            format!("--realm={}", REALM.to_uppercase()),
            "--domain=EXAMPLE".into(),
            format!("--adminpass={ADMIN_PASSWORD}"),
            format!("--targetdir={d}"),
        ]);
        for option in &options {
            provision.arg(format!("--option={option}"));
        }
        run(&mut provision, "samba-tool domain provision");
        let entries = path.join("entries.ldif");
        std::fs::write(&entries, ldif).expect("ldif");
        run(
            Command::new(binary("ldbadd"))
                .arg("-H")
                .arg(path.join("private/sam.ldb"))
                .arg(&entries),
            "ldbadd",
        );
        let mut child = Command::new(binary("samba"))
            .args(["-i", "-s"])
            .arg(path.join("etc/smb.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Samba forks workers: a group of its own lets Drop stop them all.
            .process_group(0)
            .spawn()
            .expect("start samba");
        wait_for_port(636, "samba", &mut child);
        Self { ca_pem, child, dir }
    }

    /// Runs `samba-tool` on the domain's database (users, password settings).
    pub fn tool(&self, args: &[&str]) -> String {
        run(
            Command::new(binary("samba-tool"))
                .args(args)
                .arg("-H")
                .arg(self.dir.path().join("private/sam.ldb")),
            "samba-tool",
        )
    }

    /// Changes the running domain's database with `ldbmodify` (an LDIF change list),
    /// `ldbrename` (`from`, `to`) or `ldbdel` (a DN), through Samba's modules: USNs move and
    /// deletions leave tombstones, as over LDAP.
    pub fn ldb(&self, tool: &str, args: &[&str]) {
        let database = self.dir.path().join("private/sam.ldb");
        let mut command = Command::new(binary(tool));
        command.arg("-H").arg(database);
        if tool == "ldbmodify" {
            let file = self.dir.path().join("changes.ldif");
            std::fs::write(&file, args.concat()).expect("changes");
            command.arg(file);
        } else {
            command.args(args);
        }
        run(&mut command, tool);
    }

    /// `objectGUID` of the entry with this `sAMAccountName`, as Samba's own tools print it.
    pub fn guid_of(&self, account: &str) -> String {
        self.guid_matching(&format!("(sAMAccountName={account})"))
    }

    /// `objectGUID` of the one entry matching `filter` (entries without an account: OUs).
    pub fn guid_matching(&self, filter: &str) -> String {
        let out = run(
            Command::new(binary("ldbsearch"))
                .arg("-H")
                .arg(self.dir.path().join("private/sam.ldb"))
                .arg(filter)
                .arg("objectGUID"),
            "ldbsearch",
        );
        out.lines()
            .find_map(|l| l.strip_prefix("objectGUID: "))
            .expect("objectGUID")
            .trim()
            .to_string()
    }
}

impl Drop for Samba {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.child.wait();
    }
}
