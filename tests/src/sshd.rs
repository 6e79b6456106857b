//! A private OpenSSH `sshd` for one test: key-only login, its own config, host keys and client
//! keys generated here with `ssh-keygen` in a temp dir, on 127.0.0.1, killed when dropped.
//! Needs Debian's `openssh-server` (scripts/test installs it).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::slapd::{free_port, wait_for_port};

pub struct Sshd {
    pub port: u16,
    /// The login user (the one running the tests).
    pub user: String,
    /// The server's ed25519 host key, as an OpenSSH public key line.
    pub host_key: String,
    /// The server's RSA host key line (the server has both).
    pub rsa_host_key: String,
    child: Child,
    dir: tempfile::TempDir,
}

/// A client key pair: the private key text and its public line.
pub struct ClientKey {
    pub private: String,
    pub public: String,
}

fn sshd_binary() -> PathBuf {
    let path = PathBuf::from("/usr/sbin/sshd");
    assert!(
        path.exists(),
        "sshd is not installed: run `bash scripts/test`, which installs openssh-server"
    );
    path
}

/// `ssh-keygen -t kind` into `dir/name`; returns (private, public line).
pub fn keygen(dir: &Path, name: &str, kind: &str) -> ClientKey {
    let path = dir.join(name);
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", kind, "-N", "", "-C", "dirsync-test", "-f"])
        .arg(&path)
        .output()
        .expect("run ssh-keygen");
    assert!(
        out.status.success(),
        "ssh-keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    ClientKey {
        private: std::fs::read_to_string(&path).expect("private key"),
        public: std::fs::read_to_string(path.with_extension("pub"))
            .expect("public key")
            .trim()
            .to_string(),
    }
}

/// The host key line without its comment.
fn key_line(public: &str) -> String {
    public
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

impl Sshd {
    /// Starts sshd accepting the given client public keys.
    pub fn start(authorized: &[&ClientKey]) -> Self {
        let sshd = sshd_binary();
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path();
        let host = keygen(path, "host_ed25519", "ed25519");
        let rsa_host = keygen(path, "host_rsa", "rsa");
        let keys: String = authorized
            .iter()
            .map(|k| format!("{}\n", k.public))
            .collect();
        std::fs::write(path.join("authorized_keys"), keys).expect("authorized_keys");
        // Privilege separation needs this folder; Debian creates it only when the service runs.
        std::fs::create_dir_all("/run/sshd").expect("/run/sshd");
        let port = free_port();
        let d = path.display();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_ed25519\nHostKey {d}/host_rsa\n\
             PidFile {d}/sshd.pid\nAuthorizedKeysFile {d}/authorized_keys\nStrictModes no\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n\
             UsePAM no\nPermitRootLogin prohibit-password\nAllowTcpForwarding yes\n\
             LogLevel ERROR\n"
        );
        std::fs::write(path.join("sshd_config"), config).expect("sshd_config");
        let mut child = Command::new(sshd)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(path.join("sshd_config"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sshd");
        wait_for_port(port, "sshd", &mut child);
        let user = Command::new("id")
            .arg("-un")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .expect("user name");
        Self {
            port,
            user,
            host_key: key_line(&host.public),
            rsa_host_key: key_line(&rsa_host.public),
            child,
            dir,
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
