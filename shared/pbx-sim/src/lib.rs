//! An in-process PBX (axum) that speaks the REST contract of CONTRACTS section 4 and is as
//! strict as a real one, with injectable faults, latency and rate limits. Used by the tests,
//! the benchmarks, `dirsync-local`'s demo tenant and the `pbx-sim` binary.

mod avatar;
mod collection;
mod etag;
mod model;
mod object_bodies;
mod object_routes;
mod objects;
mod phonebook;
mod routes;
mod state;
mod validate;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::http::StatusCode;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use model::{
    Forwarding, SimExtension, SimGroup, SimOrganization, SimStats, SipPasswordSet, Voicemail,
};
pub use phonebook::SimPhonebookEntry;

use model::ApiError;
use state::Account;

/// How the simulator misbehaves. `Default` is a well-behaved PBX.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatorOptions {
    /// Share of requests answered, before any handling, with 429 (`Retry-After: 0` or `1`),
    /// 500 or 503: such a request changes nothing.
    pub fault_rate: f64,
    /// Share of state-changing writes that are applied but answered 500, as when a response
    /// is lost: tests that retried creates do not duplicate.
    pub fault_after_commit_rate: f64,
    /// Added to every request before it is handled.
    pub latency: Duration,
    /// Requests per second and account beyond which the answer is 429 with `Retry-After`.
    pub rate_limit_per_second: Option<u32>,
    /// The largest `limit` a listing accepts.
    pub page_size_max: u32,
    /// Seed of the fault dice, so that runs are repeatable.
    pub seed: u64,
    /// Whether the extension listing carries an `ETag` and answers a matching
    /// `If-None-Match` with 304; off, it is a PBX without ETags that ignores the field.
    pub etags: bool,
}

impl Default for SimulatorOptions {
    fn default() -> Self {
        Self {
            fault_rate: 0.0,
            fault_after_commit_rate: 0.0,
            latency: Duration::ZERO,
            rate_limit_per_second: None,
            page_size_max: 500,
            seed: 0,
            etags: true,
        }
    }
}

/// The simulated PBX: cheap to clone, every clone shares the same accounts.
#[derive(Clone)]
pub struct PbxSimulator {
    inner: Arc<Inner>,
}

struct Inner {
    options: Mutex<SimulatorOptions>,
    dice: Mutex<StdRng>,
    accounts: Mutex<HashMap<String, Arc<AccountCell>>>,
}

/// One account with its in-flight counter, which lives outside the lock.
struct AccountCell {
    state: Mutex<Account>,
    in_flight: AtomicUsize,
}

/// A simulator serving on a socket; dropping it (or [`RunningSimulator::shutdown`]) stops it.
pub struct RunningSimulator {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave these plain maps half-updated in a way
    // that matters to a simulator, so poisoning is ignored.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl PbxSimulator {
    pub fn new(options: SimulatorOptions) -> Self {
        let dice = StdRng::seed_from_u64(options.seed);
        Self {
            inner: Arc::new(Inner {
                options: Mutex::new(options),
                dice: Mutex::new(dice),
                accounts: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Adds a PBX tenant reached at `/{account}` with this bearer token and extension quota.
    /// Adding an existing account changes its token and quota and keeps its extensions.
    pub fn add_account(&self, account: &str, token: &str, quota: usize) {
        let mut accounts = lock(&self.inner.accounts);
        if let Some(cell) = accounts.get(account) {
            let mut state = lock(&cell.state);
            state.token = token.to_string();
            state.extensions.limit = quota;
            return;
        }
        let cell = AccountCell {
            state: Mutex::new(Account::new(token, quota)),
            in_flight: AtomicUsize::new(0),
        };
        accounts.insert(account.to_string(), Arc::new(cell));
    }

    /// The routes, for embedding in another server.
    pub fn router(&self) -> axum::Router {
        routes::router(self.clone())
    }

    /// Binds `addr` (port 0 picks a free one) and serves until the handle is dropped.
    pub async fn serve(&self, addr: SocketAddr) -> std::io::Result<RunningSimulator> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let router = self.router();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    // A dropped sender stops the server too.
                    let _ = stopped.await;
                })
                .await
        });
        Ok(RunningSimulator {
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The base URL of an account served at `addr`, as a tenant's PBX `base_url`.
    pub fn base_url(addr: SocketAddr, account: &str) -> String {
        format!("http://{addr}/{account}")
    }

    /// Every extension of the account with its telephony settings, in id order; empty for an
    /// unknown account.
    pub fn extensions(&self, account: &str) -> Vec<SimExtension> {
        self.account(account)
            .map(|cell| lock(&cell.state).extensions.all())
            .unwrap_or_default()
    }

    /// Every organization of the account, in id order; empty for an unknown account.
    pub fn organizations(&self, account: &str) -> Vec<SimOrganization> {
        self.account(account)
            .map(|cell| lock(&cell.state).organizations.all())
            .unwrap_or_default()
    }

    /// Every extension group of the account, in id order; empty for an unknown account.
    pub fn groups(&self, account: &str) -> Vec<SimGroup> {
        self.account(account)
            .map(|cell| lock(&cell.state).groups.all())
            .unwrap_or_default()
    }

    /// Adds an extension as given (a manual one: set `managed_by` to `None`), with an id
    /// assigned when `ext.id` is empty. Returns the id, or `None` for an unknown account.
    pub fn seed(&self, account: &str, ext: SimExtension) -> Option<String> {
        self.account(account)
            .map(|cell| lock(&cell.state).extensions.seed(ext))
    }

    /// Adds an organization as given (a manual one: `managed_by` `None`), unchecked, with an
    /// id assigned when `org.id` is empty. Returns the id, or `None` for an unknown account.
    pub fn seed_organization(&self, account: &str, org: SimOrganization) -> Option<String> {
        self.account(account)
            .map(|cell| lock(&cell.state).organizations.seed(org))
    }

    /// Adds an extension group as given, unchecked, with an id assigned when `group.id` is
    /// empty. Returns the id, or `None` for an unknown account.
    pub fn seed_group(&self, account: &str, group: SimGroup) -> Option<String> {
        self.account(account)
            .map(|cell| lock(&cell.state).groups.seed(group))
    }

    /// Every phonebook entry of the account, in id order; empty for an unknown account.
    pub fn phonebook(&self, account: &str) -> Vec<SimPhonebookEntry> {
        self.account(account)
            .map(|cell| lock(&cell.state).phonebook.all())
            .unwrap_or_default()
    }

    /// Adds a phonebook entry as given (a manual one: `managed_by` `None`), unchecked, with
    /// an id assigned when `entry.id` is empty. Returns the id, or `None` for an unknown
    /// account.
    pub fn seed_phonebook_entry(&self, account: &str, entry: SimPhonebookEntry) -> Option<String> {
        self.account(account)
            .map(|cell| lock(&cell.state).phonebook.seed(entry))
    }

    /// Sets how many organizations and extension groups the account may hold (by default
    /// 1000 and 63). Does nothing for an unknown account.
    pub fn set_object_limits(&self, account: &str, organizations: usize, groups: usize) {
        if let Some(cell) = self.account(account) {
            let mut state = lock(&cell.state);
            state.organizations.limit = organizations;
            state.groups.limit = groups;
        }
    }

    /// The account's counters; zero for an unknown account.
    pub fn stats(&self, account: &str) -> SimStats {
        self.account(account)
            .map(|cell| lock(&cell.state).stats.clone())
            .unwrap_or_default()
    }

    /// What the extension's SIP password was last set to (its SHA-256) and how often;
    /// `None` when none was ever set.
    pub fn sip_password(&self, account: &str, extension_id: &str) -> Option<SipPasswordSet> {
        let cell = self.account(account)?;
        let state = lock(&cell.state);
        state.sip_passwords.get(extension_id).cloned()
    }

    /// Changes faults, latency and limits at runtime; the dice are re-seeded from `seed`.
    pub fn set_options(&self, options: SimulatorOptions) {
        *lock(&self.inner.dice) = StdRng::seed_from_u64(options.seed);
        *lock(&self.inner.options) = options;
    }

    pub fn options(&self) -> SimulatorOptions {
        lock(&self.inner.options).clone()
    }

    fn account(&self, account: &str) -> Option<Arc<AccountCell>> {
        lock(&self.inner.accounts).get(account).cloned()
    }

    /// The fault injected before handling, if the dice say so.
    fn roll_fault(&self, options: &SimulatorOptions) -> Option<ApiError> {
        if options.fault_rate <= 0.0 {
            return None;
        }
        let mut dice = lock(&self.inner.dice);
        if dice.random::<f64>() >= options.fault_rate {
            return None;
        }
        Some(match dice.random_range(0..4u8) {
            0 => ApiError::throttled(0),
            1 => ApiError::throttled(1),
            2 => ApiError::server(StatusCode::INTERNAL_SERVER_ERROR),
            _ => ApiError::server(StatusCode::SERVICE_UNAVAILABLE),
        })
    }

    /// Whether an applied write is answered 500 anyway.
    fn roll_after_commit(&self, options: &SimulatorOptions) -> bool {
        options.fault_after_commit_rate > 0.0
            && lock(&self.inner.dice).random::<f64>() < options.fault_after_commit_rate
    }
}

impl fmt::Debug for PbxSimulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Tokens are left out on purpose.
        let accounts: Vec<String> = lock(&self.inner.accounts).keys().cloned().collect();
        f.debug_struct("PbxSimulator")
            .field("options", &self.options())
            .field("accounts", &accounts)
            .finish()
    }
}

/// Counts a request as in flight for as long as it lives.
struct InFlight(Arc<AccountCell>);

impl InFlight {
    fn enter(cell: Arc<AccountCell>) -> Self {
        let now = cell.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        {
            let mut state = lock(&cell.state);
            state.stats.max_in_flight = state.stats.max_in_flight.max(now);
        }
        Self(cell)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl RunningSimulator {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `PbxSimulator::base_url` for this server.
    pub fn base_url(&self, account: &str) -> String {
        PbxSimulator::base_url(self.addr, account)
    }

    /// Stops accepting, lets requests in progress finish, and waits for the server task.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(std::io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for RunningSimulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
