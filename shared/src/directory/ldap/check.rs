//! The LDAP provider's "test connection": the same steps as a read (tunnel, connect, tls,
//! bind, search), each timed and reported with its message; the first failure ends the test.

use std::time::Instant;

use super::connection::Connection;
use super::search::{read_snapshot, SearchPlan};
use crate::domain::connection::SAMPLE_SIZE;
use crate::domain::{Check, CheckName, ConnectionReport};

pub(super) async fn test_connection(
    connection: &Connection,
    search: &SearchPlan,
) -> ConnectionReport {
    let mut checks = Vec::new();
    let finish = |checks: Vec<Check>| ConnectionReport::new(checks, Vec::new());

    let started = Instant::now();
    let tunnel = match connection.open_tunnel().await {
        Ok(tunnel) => {
            if let Some(t) = &tunnel {
                let message = format!("SSH bastion host key {} matches", t.host_key_fingerprint());
                checks.push(Check::timed(CheckName::Tunnel, started, Ok(message)));
            }
            tunnel
        }
        Err(e) => {
            checks.push(Check::timed(CheckName::Tunnel, started, Err(e.to_string())));
            return finish(checks);
        }
    };

    let started = Instant::now();
    let stream = match connection.connect(tunnel.as_ref()).await {
        Ok(stream) => {
            let message = format!("connected to {}:{}", connection.host, connection.port);
            checks.push(Check::timed(CheckName::Connect, started, Ok(message)));
            stream
        }
        Err(e) => {
            checks.push(Check::timed(
                CheckName::Connect,
                started,
                Err(e.to_string()),
            ));
            return finish(checks);
        }
    };

    let started = Instant::now();
    let mut ldap = match connection.start(stream).await {
        Ok(ldap) => {
            let message = match &connection.tls {
                Some(_) => format!("{} {}", connection.tls_note(), connection.trust_note()),
                None => connection.tls_note(),
            };
            checks.push(Check::timed(CheckName::Tls, started, Ok(message)));
            ldap
        }
        Err(e) => {
            checks.push(Check::timed(CheckName::Tls, started, Err(e.to_string())));
            return finish(checks);
        }
    };

    let started = Instant::now();
    let bound = connection
        .bind(&mut ldap)
        .await
        .map(|_| format!("bound as {}", connection.config.bind_dn))
        .map_err(|e| e.to_string());
    let bind_ok = bound.is_ok();
    checks.push(Check::timed(CheckName::Bind, started, bound));
    if !bind_ok {
        return finish(checks);
    }

    let started = Instant::now();
    let timeout = connection.options.timeouts.operation;
    let (result, sample) = match read_snapshot(search, &mut ldap, timeout).await {
        Ok(snapshot) => {
            let in_scope: Vec<_> = snapshot.users.iter().filter(|u| u.in_scope).collect();
            let mut message = format!(
                "{} users read under {}, {} in scope",
                snapshot.users.len(),
                connection.config.base_dn,
                in_scope.len()
            );
            // The OU and group searches ran too when their sync is on: say what they found.
            for (count, what) in [
                (snapshot.organizations.len(), "organization sources"),
                (snapshot.groups.len(), "groups"),
            ] {
                if count > 0 {
                    message.push_str(&format!(", {count} {what}"));
                }
            }
            let sample = in_scope.into_iter().take(SAMPLE_SIZE).cloned().collect();
            (Ok(message), sample)
        }
        Err(e) => (Err(e.to_string()), Vec::new()),
    };
    checks.push(Check::timed(CheckName::Search, started, result));
    ConnectionReport::new(checks, sample)
}
