//! Login attempts: a limit per window and username hash, shared by every caller.

use std::time::Duration;

use chrono::TimeDelta;

use super::{base_time, unique_tenant};
use crate::ports::{LoginAttempt, LoginLimit, Store};

const LIMIT: LoginLimit = LoginLimit {
    max: 3,
    window: Duration::from_secs(900),
};

/// Counted up to the limit, then refused until the window's end (nothing counted while
/// refused); a new window after it; an attempt given back frees a place; a cleared count
/// starts over; keys and tenants count apart; deleting the tenant forgets its attempts.
pub async fn login_attempts_are_limited_per_window(store: &dyn Store) {
    let (t, other) = (unique_tenant("login"), unique_tenant("login-other"));
    let at = |secs: i64| base_time() + TimeDelta::seconds(secs);
    let take = |tenant, key, secs| async move {
        store
            .take_login_attempt(tenant, key, LIMIT, at(secs))
            .await
            .expect("take login attempt")
    };
    let refused = |secs| LoginAttempt::Refused { until: at(secs) };

    for secs in [0, 10, 20] {
        assert_eq!(take(&t, "k1", secs).await, LoginAttempt::Counted);
    }
    assert_eq!(take(&t, "k1", 30).await, refused(900));
    assert_eq!(take(&t, "k1", 899).await, refused(900));
    // Other keys and other tenants have their own counts.
    assert_eq!(take(&t, "k2", 30).await, LoginAttempt::Counted);
    assert_eq!(take(&other, "k1", 30).await, LoginAttempt::Counted);
    // The window ends at exactly its end: a new one opens with one attempt.
    assert_eq!(take(&t, "k1", 900).await, LoginAttempt::Counted);
    assert_eq!(take(&t, "k1", 901).await, LoginAttempt::Counted);
    assert_eq!(take(&t, "k1", 902).await, LoginAttempt::Counted);
    assert_eq!(take(&t, "k1", 903).await, refused(1800));

    // An attempt given back (the directory did not answer) frees one place.
    store
        .return_login_attempt(&t, "k1", false)
        .await
        .expect("give back");
    assert_eq!(take(&t, "k1", 904).await, LoginAttempt::Counted);
    assert_eq!(take(&t, "k1", 905).await, refused(1800));

    // A success clears the count.
    store
        .return_login_attempt(&t, "k1", true)
        .await
        .expect("clear");
    assert_eq!(take(&t, "k1", 906).await, LoginAttempt::Counted);
    // Giving back what is not there changes nothing.
    store
        .return_login_attempt(&t, "none", false)
        .await
        .expect("give back nothing");
    store
        .return_login_attempt(&t, "none", true)
        .await
        .expect("clear nothing");

    store.delete_tenant(&t).await.expect("delete tenant");
    for secs in [907, 908, 909] {
        assert_eq!(take(&t, "k1", secs).await, LoginAttempt::Counted);
    }
    store.delete_tenant(&t).await.expect("delete tenant");
    store.delete_tenant(&other).await.expect("delete tenant");
}

/// Ten concurrent attempts at a limit of three: exactly three are counted.
pub async fn concurrent_login_attempts_respect_the_limit(store: &dyn Store) {
    let t = unique_tenant("login-race");
    let now = base_time();
    let attempts = (0..10).map(|_| store.take_login_attempt(&t, "k", LIMIT, now));
    let results = futures::future::join_all(attempts).await;
    let counted = results
        .into_iter()
        .map(|r| r.expect("take login attempt"))
        .filter(|r| *r == LoginAttempt::Counted)
        .count();
    assert_eq!(counted, 3);
    store.delete_tenant(&t).await.expect("delete tenant");
}
