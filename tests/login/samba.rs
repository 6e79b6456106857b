//! Active Directory login against Samba: right and wrong passwords, disabled, expired,
//! must-change and locked-out accounts, every refusal the one rejection. One test: Samba's
//! LDAP ports are fixed.

use dirsync::directory::LdapOptions;
use dirsync::domain::{CheckName, DirectoryConfig, EndpointPolicy};
use dirsync::ports::Directory;
use dirsync::ports::TenantSecrets;
use dirsync::sync::LoginResult;
use dirsync_integration_tests::samba::{Samba, ADMIN_PASSWORD, ADMIN_UPN, BASE_DN};
use serde_json::{json, Value};

use super::{login, secret, synced, verified_id};

const PASSWORD: &str = "Us3r-Passw0rd!";

/// What Samba answers a bind as `upn` with `password`, as dirsync's connection test words
/// it (AD's sub-code decoded): the record of the refusals that login maps to one answer.
async fn bind_answer(provider: &Value, upn: &str, password: &str) -> String {
    let mut provider = provider.clone();
    provider["bind_dn"] = json!(upn);
    let body = json!({ "provider": provider });
    let policy = EndpointPolicy {
        allow_private: true,
    };
    let config = DirectoryConfig::from_json(body.to_string().as_bytes(), policy).expect("config");
    let secrets = TenantSecrets {
        bind_password: Some(secret(password)),
        ..TenantSecrets::default()
    };
    let options = LdapOptions {
        allow_private: true,
        ..LdapOptions::default()
    };
    let directory = dirsync_integration_tests::ldap_directory(&config, &secrets, options);
    let report = directory.test_connection().await;
    let bind = report
        .checks
        .iter()
        .find(|c| c.name == CheckName::Bind)
        .expect("a bind step");
    bind.message.clone()
}

#[tokio::test]
async fn samba_ad_login_with_every_refusal_the_same_rejection() {
    let staff = format!("OU=Staff,{BASE_DN}");
    let samba = Samba::start(&format!(
        "dn: {staff}\nobjectClass: organizationalUnit\nou: Staff\n\n"
    ));
    samba.tool(&[
        "domain",
        "passwordsettings",
        "set",
        "--account-lockout-threshold=3",
        "--complexity=off",
    ]);
    for (n, account) in ["alice", "dis", "exp", "change", "locked"]
        .iter()
        .enumerate()
    {
        let number = format!("{}", 2001 + n);
        let mut args = vec![
            "user",
            "create",
            account,
            PASSWORD,
            "--userou=OU=Staff",
            "--telephone-number",
            &number,
            "--mail-address",
        ];
        let mail = format!("{account}@example.test");
        args.push(&mail);
        samba.tool(&args);
    }
    let provider = json!({"type": "ldap", "url": "ldaps://localhost:636", "ca_pem": samba.ca_pem,
        "bind_dn": ADMIN_UPN, "base_dn": BASE_DN, "flavor": "active_directory"});
    let h = synced(
        provider.clone(),
        TenantSecrets {
            bind_password: Some(secret(ADMIN_PASSWORD)),
            ..TenantSecrets::default()
        },
    )
    .await;
    // Mapped first, then changed in the directory.
    samba.tool(&["user", "disable", "dis"]);
    samba.tool(&["user", "setexpiry", "exp", "--days=0"]);
    samba.tool(&[
        "user",
        "setpassword",
        "change",
        &format!("--newpassword={PASSWORD}"),
        "--must-change-at-next-login",
    ]);
    for _ in 0..3 {
        bind_answer(&provider, "locked@example.test", "wrong").await;
    }
    // What Samba answers each of them; dirsync rejects every one with the same answer.
    let codes = [
        ("alice@example.test", "wrong", "52e"),
        ("dis@example.test", PASSWORD, "533"),
        ("exp@example.test", PASSWORD, "701"),
        ("change@example.test", PASSWORD, "773"),
        ("locked@example.test", PASSWORD, "775"),
    ];
    for (upn, password, code) in codes {
        let said = bind_answer(&provider, upn, password).await;
        assert!(said.contains(&format!("(AD {code})")), "{upn}: {said}");
    }

    let alice = samba.guid_of("alice");
    for username in ["alice@example.test", "alice", "ALICE@example.test"] {
        assert_eq!(
            verified_id(&login(&h, username, PASSWORD).await),
            alice,
            "{username}"
        );
    }
    for (username, password) in [
        ("alice", "wrong"),
        ("alice", ""),
        ("dis", PASSWORD),
        ("exp", PASSWORD),
        ("change", PASSWORD),
        ("locked", PASSWORD),
        ("Administrator", ADMIN_PASSWORD),
    ] {
        assert_eq!(
            login(&h, username, password).await,
            LoginResult::Rejected,
            "{username}"
        );
    }
}
