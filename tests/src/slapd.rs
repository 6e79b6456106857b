//! A private OpenLDAP `slapd` for one test: its own config, data, TLS certificates (a CA made
//! here with rcgen) and ports on 127.0.0.1, loaded with `slapadd` before it starts and killed
//! when dropped. Needs Debian's `slapd` and `ldap-utils` (scripts/test installs them).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;

pub const SUFFIX: &str = "dc=example,dc=com";
pub const ADMIN_DN: &str = "cn=admin,dc=example,dc=com";
pub const ADMIN_PASSWORD: &str = "admin-secret";
/// The bind user the provider uses: an ordinary entry, so server limits apply to it.
pub const SYNC_DN: &str = "cn=sync,dc=example,dc=com";
pub const SYNC_PASSWORD: &str = "sync-secret-4711";

/// Options of one server.
#[derive(Debug, Clone, Default)]
pub struct SlapdOptions {
    /// `limits` `size.prtotal` for the sync user: paged searches stop after this many entries.
    /// `None`: no size limit for the sync user.
    pub paged_total_limit: Option<u32>,
    /// Log every operation (`-d stats`) to a file, for [`Slapd::searches`].
    pub log_operations: bool,
    /// An attribute that members of [`WRITERS_DN`] may write (everyone else only reads it, so
    /// a write by the sync user is refused with insufficientAccessRights until it joins).
    pub writable_by_writers: Option<String>,
}

/// The group whose members may write [`SlapdOptions::writable_by_writers`]; its entry is the
/// test's to add (see [`writers_group`]).
pub const WRITERS_DN: &str = "cn=writers,ou=Groups,dc=example,dc=com";

/// The [`WRITERS_DN`] entry, with the admin as its only member (the sync user is not one).
pub fn writers_group() -> String {
    format!("dn: {WRITERS_DN}\nobjectClass: groupOfNames\ncn: writers\nmember: {ADMIN_DN}\n\n")
}

pub struct Slapd {
    pub port: u16,
    pub tls_port: u16,
    /// The CA that signed the server's certificate (for `localhost` and 127.0.0.1).
    pub ca_pem: String,
    /// Another CA, which signed nothing this server shows.
    pub other_ca_pem: String,
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
    panic!("{name} is not installed: run `bash scripts/test`, which installs slapd and ldap-utils")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Waits until something accepts on `port`.
pub fn wait_for_port(port: u16, what: &str, child: &mut Child) {
    if let Err(status) = listening(port, what, child) {
        panic!("{what} exited at start: {status}");
    }
}

/// Waits until something accepts on `port`; the exit status if `child` ends first (a port
/// another test took between [`free_port`] and the bind, say).
fn listening(port: u16, what: &str, child: &mut Child) -> Result<(), std::process::ExitStatus> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not listen on 127.0.0.1:{port}");
}

/// Tries to start a server on fresh ports until one attempt listens: a port found free can be
/// taken by a test in another process before the server binds it.
fn started_on_free_ports(
    what: &str,
    log: &Path,
    mut spawn: impl FnMut(u16, u16, Stdio) -> Child,
) -> (Child, u16, u16) {
    const ATTEMPTS: usize = 5;
    for _ in 0..ATTEMPTS {
        let (port, tls_port) = (free_port(), free_port());
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("server log file");
        let mut child = spawn(port, tls_port, Stdio::from(stderr));
        if listening(port, what, &mut child)
            .and_then(|()| listening(tls_port, what, &mut child))
            .is_ok()
        {
            return (child, port, tls_port);
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    let said = std::fs::read_to_string(log).unwrap_or_default();
    panic!("{what} exited at start {ATTEMPTS} times: {said}");
}

/// A CA, a server certificate it signed for `localhost` and 127.0.0.1 with its key, and an
/// unrelated CA: (ca, cert, key, other ca), PEM.
pub fn certificates() -> (String, String, String, String) {
    let ca_key = rcgen::KeyPair::generate().expect("ca key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "dirsync test CA");
    let ca = ca_params.self_signed(&ca_key).expect("ca cert");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().expect("server key");
    let params =
        rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).expect("san");
    let cert = params.signed_by(&key, &issuer).expect("server cert");
    let other_key = rcgen::KeyPair::generate().expect("other key");
    let mut other_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("other");
    other_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let other = other_params.self_signed(&other_key).expect("other ca");
    (ca.pem(), cert.pem(), key.serialize_pem(), other.pem())
}

fn config(dir: &Path, options: &SlapdOptions) -> String {
    let d = dir.display();
    let includes: String = ["core", "cosine", "inetorgperson", "nis"]
        .iter()
        .map(|s| format!("include /etc/ldap/schema/{s}.schema\n"))
        .collect();
    let limits = match options.paged_total_limit {
        Some(n) => {
            format!("limits dn.exact=\"{SYNC_DN}\" size.soft={n} size.hard={n} size.prtotal={n}\n")
        }
        // slapd's default (500 entries) would stop a read of a large directory.
        None => format!("limits dn.exact=\"{SYNC_DN}\" size=unlimited\n"),
    };
    let writable = match &options.writable_by_writers {
        Some(attribute) => format!(
            "access to attrs={attribute} by group.exact=\"{WRITERS_DN}\" write by users read by * none\n"
        ),
        None => String::new(),
    };
    format!(
        "{includes}modulepath /usr/lib/ldap\nmoduleload back_mdb\nmoduleload ppolicy\nmoduleload syncprov\n\
         pidfile {d}/slapd.pid\nargsfile {d}/slapd.args\n\
         TLSCACertificateFile {d}/ca.pem\nTLSCertificateFile {d}/server.pem\n\
         TLSCertificateKeyFile {d}/server.key\n\
         database mdb\nmaxsize 268435456\nsuffix \"{SUFFIX}\"\nrootdn \"{ADMIN_DN}\"\n\
         rootpw {ADMIN_PASSWORD}\ndirectory {d}/data\nindex objectClass eq\n{limits}\
         overlay ppolicy\n\
         overlay syncprov\n\
         access to attrs=userPassword by self write by anonymous auth by * none\n\
         {writable}access to * by users read by * none\n"
    )
}

/// An LDIF value line, base64 when it is not plain ASCII.
pub fn attr(name: &str, value: &str) -> String {
    if value.is_ascii() && !value.starts_with([' ', ':', '<']) {
        format!("{name}: {value}\n")
    } else {
        let encoded = base64::engine::general_purpose::STANDARD.encode(value);
        format!("{name}:: {encoded}\n")
    }
}

/// The `entryUUID` of test user `n`.
pub fn uuid(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// `uid=u{n}` under `ou` (relative to the suffix), extension 1000+n, `mail` optional.
pub fn person(n: u32, ou: &str, given: &str, mail: bool) -> String {
    let mut entry = format!(
        "dn: uid=u{n},{ou},{SUFFIX}\nobjectClass: inetOrgPerson\nuid: u{n}\nentryUUID: {}\n",
        uuid(n)
    );
    entry.push_str(&attr("cn", &format!("{given} Family{n}")));
    entry.push_str(&attr("givenName", given));
    entry.push_str(&format!("sn: Family{n}\ntelephoneNumber: {}\n", 1000 + n));
    if mail {
        entry.push_str(&format!("mail: user{n}@example.com\n"));
    }
    entry.push('\n');
    entry
}

/// The base entries: the suffix, ou=People, ou=Groups and the sync user.
fn base_ldif() -> String {
    format!(
        "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n\
         dn: ou=People,{SUFFIX}\nobjectClass: organizationalUnit\nou: People\n\n\
         dn: ou=Groups,{SUFFIX}\nobjectClass: organizationalUnit\nou: Groups\n\n\
         dn: {SYNC_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n\
         cn: sync\nuserPassword: {SYNC_PASSWORD}\n\n"
    )
}

impl Slapd {
    /// Starts a server holding the base entries plus `ldif` (entries separated by blank lines).
    pub fn start(ldif: &str, options: SlapdOptions) -> Self {
        let slapd = binary("slapd");
        let slapadd = binary("slapadd");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path();
        std::fs::create_dir(path.join("data")).expect("data dir");
        let (ca_pem, cert, key, other_ca_pem) = certificates();
        std::fs::write(path.join("ca.pem"), &ca_pem).expect("ca");
        std::fs::write(path.join("server.pem"), cert).expect("cert");
        std::fs::write(path.join("server.key"), key).expect("key");
        let conf = path.join("slapd.conf");
        std::fs::write(&conf, config(path, &options)).expect("config");
        let data = path.join("data.ldif");
        std::fs::write(&data, format!("{}{ldif}", base_ldif())).expect("ldif");
        let loaded = Command::new(slapadd)
            .arg("-f")
            .arg(&conf)
            .arg("-l")
            .arg(&data)
            .output()
            .expect("run slapadd");
        assert!(
            loaded.status.success(),
            "slapadd failed: {}",
            String::from_utf8_lossy(&loaded.stderr)
        );
        // At level 0 slapd still says why it could not start.
        let (level, log) = match options.log_operations {
            true => ("stats", "slapd.log"),
            false => ("0", "slapd-start.log"),
        };
        let (child, port, tls_port) =
            started_on_free_ports("slapd", &path.join(log), |port, tls_port, stderr| {
                Command::new(&slapd)
                    .arg("-f")
                    .arg(&conf)
                    .arg("-h")
                    .arg(format!(
                        "ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{tls_port}/"
                    ))
                    .args(["-d", level])
                    .stdout(Stdio::null())
                    .stderr(stderr)
                    .spawn()
                    .expect("start slapd")
            });
        Self {
            port,
            tls_port,
            ca_pem,
            other_ca_pem,
            child,
            dir,
        }
    }

    /// Applies an LDIF change list (`changetype: ...`) as the admin, with `ldapmodify`.
    pub fn modify(&self, changes: &str) {
        let mut child = Command::new(binary("ldapmodify"))
            .args(["-x", "-H", &format!("ldap://127.0.0.1:{}", self.port)])
            .args(["-D", ADMIN_DN, "-w", ADMIN_PASSWORD])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run ldapmodify");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(changes.as_bytes())
            .expect("write changes");
        let out = child.wait_with_output().expect("ldapmodify");
        assert!(
            out.status.success(),
            "ldapmodify failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// How many search requests the server has logged (one per page); needs `log_operations`.
    pub fn searches(&self) -> usize {
        self.searches_where(|_| true)
    }

    /// How many logged search requests were base-scope reads of one entry (slapd's
    /// `scope=0`), such as the rootDSE; needs `log_operations`.
    pub fn base_searches(&self) -> usize {
        self.searches_where(|l| l.contains(" scope=0 "))
    }

    fn searches_where(&self, matches: impl Fn(&str) -> bool) -> usize {
        let log = std::fs::read_to_string(self.dir.path().join("slapd.log")).expect("slapd log");
        log.lines()
            .filter(|l| l.contains(" SRCH base=") && matches(l))
            .count()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
