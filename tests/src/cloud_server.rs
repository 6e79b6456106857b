//! What the Graph and Okta test servers share: serving a router on 127.0.0.1, the log of
//! requests they answered, opaque cursors.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::oneshot;

/// One answered request, as the server saw it.
#[derive(Debug, Clone)]
pub struct Logged {
    /// When the request arrived.
    pub at: Instant,
    /// The same moment as epoch milliseconds (to compare with Okta's epoch-second resets).
    pub epoch_ms: u128,
    pub path: String,
    /// The page index within its listing (0 for the first page), for listing requests.
    pub page: Option<usize>,
    pub status: u16,
    /// The `Retry-After` seconds the answer carried.
    pub retry_after: Option<u64>,
    /// Okta: the `X-Rate-Limit-Reset` epoch seconds and `X-Rate-Limit-Remaining` sent.
    pub reset: Option<u64>,
    pub remaining: Option<u64>,
}

impl Logged {
    pub fn now(path: &str, page: Option<usize>) -> Self {
        Self {
            at: Instant::now(),
            epoch_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis()),
            path: path.to_string(),
            page,
            status: 0,
            retry_after: None,
            reset: None,
            remaining: None,
        }
    }
}

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A random cursor that means nothing outside the server that issued it.
pub fn opaque() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub fn epoch_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A server task on 127.0.0.1 that stops when dropped.
pub struct Running {
    pub addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

pub async fn serve(router: axum::Router) -> Running {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local addr");
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
    });
    Running { addr, _stop: stop }
}

/// The shared state of a server, for handlers and tests.
pub type Shared<T> = Arc<Mutex<T>>;

/// A cloud directory config from its JSON, checked as the API checks it (private endpoints
/// allowed: the test servers listen on loopback).
pub fn config_of(body: serde_json::Value) -> dirsync::domain::DirectoryConfig {
    let policy = dirsync::domain::EndpointPolicy {
        allow_private: true,
    };
    dirsync::domain::DirectoryConfig::from_json(body.to_string().as_bytes(), policy)
        .expect("a valid config")
}
