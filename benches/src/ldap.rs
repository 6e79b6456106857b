//! The LDAP provider reading 10,000 users from a local slapd (ldaps, pages of 1,000), against
//! `ldapsearch -E pr=1000/noprompt` over the same scope and attributes in the same run; then
//! the same through an SSH tunnel (a local sshd) against `ssh -L` + ldapsearch.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dirsync::directory::{LdapDirectory, LdapOptions};
use dirsync::domain::{DirectoryConfig, EndpointPolicy};
use dirsync::ports::{Directory, TenantSecrets};
use dirsync_integration_tests::slapd::{
    free_port, Slapd, SlapdOptions, SUFFIX, SYNC_DN, SYNC_PASSWORD,
};
use dirsync_integration_tests::sshd::{keygen, Sshd};
use serde_json::json;

use crate::{alloc, Row};

const USERS: u32 = 10_000;
const RUNS: usize = 5;
/// What the provider asks for with the default fields (UserMapper::attributes_needed).
const ATTRIBUTES: [&str; 9] = [
    "givenName",
    "sn",
    "mail",
    "mobile",
    "telephoneNumber",
    "entryUUID",
    "memberOf",
    "objectClass",
    "pwdAccountLockedTime",
];

fn people() -> String {
    (1..=USERS)
        .map(|n| {
            format!(
                "dn: uid=u{n},ou=People,{SUFFIX}\nobjectClass: inetOrgPerson\nuid: u{n}\n\
                 entryUUID: 00000000-0000-4000-8000-{n:012}\ncn: Given{n} Family{n}\n\
                 givenName: Given{n}\nsn: Family{n}\nmail: user{n}@example.com\n\
                 telephoneNumber: {}\nmobile: +1555{n:07}\n\n",
                10_000 + n
            )
        })
        .collect()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ldapsearch(port: u16, ca: &std::path::Path) -> Duration {
    let start = Instant::now();
    let status = Command::new("ldapsearch")
        .env("LDAPTLS_CACERT", ca)
        .args(["-x", "-LLL", "-H", &format!("ldaps://127.0.0.1:{port}")])
        .args(["-D", SYNC_DN, "-w", SYNC_PASSWORD, "-b", SUFFIX])
        .args(["-E", "pr=1000/noprompt", "(objectClass=inetOrgPerson)"])
        .args(ATTRIBUTES)
        .stdout(Stdio::null())
        .status()
        .expect("run ldapsearch");
    assert!(status.success(), "ldapsearch failed");
    start.elapsed()
}

pub fn run() -> Vec<Row> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let server = Slapd::start(&people(), SlapdOptions::default());
    let ca = server.dir().join("ca.pem");
    let keys = tempfile::tempdir().expect("key dir");
    let client = keygen(keys.path(), "client", "ed25519");
    let sshd = Sshd::start(&[&client]);

    let provider = json!({"type": "ldap", "url": format!("ldaps://localhost:{}", server.tls_port),
        "ca_pem": server.ca_pem, "bind_dn": SYNC_DN, "base_dn": SUFFIX});
    let mut tunnelled = provider.clone();
    tunnelled["tunnel"] = json!({"type": "ssh", "host": "127.0.0.1", "port": sshd.port,
        "user": sshd.user, "host_key": sshd.host_key});
    let direct = directory(provider, None);
    let through = directory(tunnelled, Some(client.private.clone()));

    // Peak heap first, one read each, counted; then the timed runs without counting.
    let mut peaks = Vec::new();
    for ours in [&direct, &through] {
        let base = alloc::reset_peak();
        let snapshot = runtime.block_on(ours.read_users()).expect("read");
        peaks.push(alloc::peak() - base);
        assert_eq!(snapshot.users.len(), USERS as usize);
    }
    alloc::stop_counting();

    let mut rows = Vec::new();
    let cases = [("direct", &direct, 1.2), ("SSH tunnel", &through, 1.3)];
    for ((label, ours, target), peak) in cases.into_iter().zip(peaks) {
        let mut our_times = Vec::new();
        let mut their_times = Vec::new();
        for _ in 0..RUNS {
            let start = Instant::now();
            let snapshot = runtime.block_on(ours.read_users()).expect("read");
            our_times.push(start.elapsed());
            assert_eq!(snapshot.users.len(), USERS as usize);
            drop(snapshot);
            their_times.push(if label == "direct" {
                ldapsearch(server.tls_port, &ca)
            } else {
                ssh_forward_and_search(&sshd, keys.path().join("client"), server.tls_port, &ca)
            });
        }
        let (ours, theirs) = (median(our_times), median(their_times));
        let ratio = ours.as_secs_f64() / theirs.as_secs_f64();
        rows.push(Row {
            figure: format!(
                "read {USERS} users, {label}: ours {:.0} ms vs ldapsearch {:.0} ms (median of {RUNS})",
                ours.as_secs_f64() * 1000.0,
                theirs.as_secs_f64() * 1000.0
            ),
            value: format!("{ratio:.2}x"),
            target: format!("<= {target}x"),
            met: ratio <= target,
        });
        let mb = peak as f64 / (1024.0 * 1024.0);
        rows.push(Row {
            figure: format!("peak heap of one read, {label} ({USERS} users mapped)"),
            value: format!("{mb:.1} MB"),
            target: "< 64 MB".into(),
            met: mb < 64.0,
        });
    }
    rows
}

fn directory(provider: serde_json::Value, ssh_key: Option<String>) -> LdapDirectory {
    let body = json!({ "provider": provider });
    let config = DirectoryConfig::from_json(
        body.to_string().as_bytes(),
        EndpointPolicy {
            allow_private: true,
        },
    )
    .expect("config");
    let secrets = TenantSecrets {
        bind_password: Some(SYNC_PASSWORD.to_string().into()),
        ssh_private_key: ssh_key.map(Into::into),
        ..TenantSecrets::default()
    };
    let options = LdapOptions {
        allow_private: true,
        ..LdapOptions::default()
    };
    dirsync_integration_tests::ldap_directory(&config, &secrets, options)
}

/// `ssh -L` to the bastion (timed from its start, as our tunnel's handshake is), then
/// ldapsearch through the forwarded port.
fn ssh_forward_and_search(
    sshd: &Sshd,
    key: std::path::PathBuf,
    ldap_port: u16,
    ca: &std::path::Path,
) -> Duration {
    let local = free_port();
    let known_hosts = sshd.dir().join("known_hosts");
    std::fs::write(
        &known_hosts,
        format!("[127.0.0.1]:{} {}\n", sshd.port, sshd.host_key),
    )
    .expect("known_hosts");
    let start = Instant::now();
    let mut ssh = Command::new("ssh")
        .args([
            "-N",
            "-o",
            "BatchMode=yes",
            "-o",
            "ExitOnForwardFailure=yes",
        ])
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
        .arg("-i")
        .arg(&key)
        .args(["-p", &sshd.port.to_string()])
        .args(["-L", &format!("127.0.0.1:{local}:localhost:{ldap_port}")])
        .arg(format!("{}@127.0.0.1", sshd.user))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run ssh");
    while std::net::TcpStream::connect(("127.0.0.1", local)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "ssh -L did not come up"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let searched = ldapsearch(local, ca);
    let elapsed = start.elapsed();
    let _ = ssh.kill();
    let _ = ssh.wait();
    debug_assert!(searched <= elapsed);
    elapsed
}
