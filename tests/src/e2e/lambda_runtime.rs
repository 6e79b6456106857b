//! The worker binary run as Lambda runs it: a child process polling a local Lambda Runtime API
//! (the `2018-06-01` HTTP interface of `AWS_LAMBDA_RUNTIME_API`), served here on 127.0.0.1.
//! Gives what only a real process shows: its start-up time to the first poll for an event,
//! and its peak resident memory.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

const API: &str = "/2018-06-01/runtime";

struct Invocation {
    id: String,
    event: Value,
}

struct Shared {
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    answers: Mutex<HashMap<String, oneshot::Sender<Result<Value, String>>>>,
    /// Set at the first poll for an event: the process is ready.
    polled: watch::Sender<Option<Instant>>,
}

/// A worker process and the runtime API it polls; killed when dropped.
pub struct WorkerProcess {
    child: Child,
    send: mpsc::UnboundedSender<Invocation>,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
    /// From spawning the process to its first poll for an event.
    pub ready_after: Duration,
    next_id: u64,
}

impl WorkerProcess {
    /// Starts `binary` with `env` (plus the Lambda runtime's own variables) and waits until it
    /// polls for its first event. Its stdout (JSON logs, metric lines) goes to `log`.
    pub async fn start(binary: &Path, env: &[(String, String)], log: &Path) -> Self {
        let (send, events) = mpsc::unbounded_channel();
        let (polled, mut ready) = watch::channel(None);
        let shared = Arc::new(Shared {
            events: tokio::sync::Mutex::new(events),
            answers: Mutex::new(HashMap::new()),
            polled,
        });
        let app = Router::new()
            .route(&format!("{API}/invocation/next"), get(next))
            .route(&format!("{API}/invocation/{{id}}/response"), post(response))
            .route(&format!("{API}/invocation/{{id}}/error"), post(error))
            .route(&format!("{API}/init/error"), post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("a port for the runtime API");
        let address = listener.local_addr().expect("runtime API address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let stdout = std::fs::File::create(log).expect("worker log file");
        let spawned = Instant::now();
        let child = Command::new(binary)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "dirsync-worker")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/dirsync-worker")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .stdout(stdout)
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the worker binary");
        let first_poll =
            tokio::time::timeout(Duration::from_secs(30), ready.wait_for(Option::is_some))
                .await
                .expect("the worker polls for an event within 30 s")
                .expect("runtime API alive")
                .expect("a poll time");
        Self {
            child,
            send,
            shared,
            server,
            ready_after: first_poll.duration_since(spawned),
            next_id: 0,
        }
    }

    /// Hands `event` to the worker and waits for its answer (`Err`: the error it reported).
    pub async fn invoke(&mut self, event: Value) -> Result<Value, String> {
        self.next_id += 1;
        let id = format!("invocation-{}", self.next_id);
        let (answer, answered) = oneshot::channel();
        self.shared
            .answers
            .lock()
            .expect("answers lock")
            .insert(id.clone(), answer);
        self.send
            .send(Invocation { id, event })
            .map_err(|_| "the runtime API is gone".to_string())?;
        answered
            .await
            .map_err(|_| "the worker never answered".to_string())?
    }

    /// Peak resident set size of the process so far (`VmHWM`), in bytes.
    pub fn peak_rss_bytes(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    }

    /// CPU time the process has used so far, every thread's (`/proc/PID/task/*/schedstat`).
    pub fn cpu_time(&self) -> Option<Duration> {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.child.id())).ok()?;
        let mut nanos = 0u64;
        for task in tasks.flatten() {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
            nanos += stat.split_whitespace().next()?.parse::<u64>().ok()?;
        }
        Some(Duration::from_nanos(nanos))
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.server.abort();
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> (StatusCode, HeaderMap, Bytes) {
    shared.polled.send_if_modified(|at| {
        let first = at.is_none();
        at.get_or_insert_with(Instant::now);
        first
    });
    let Some(invocation) = shared.events.lock().await.recv().await else {
        return (StatusCode::GONE, HeaderMap::new(), Bytes::new());
    };
    let deadline = chrono::Utc::now().timestamp_millis() + 15 * 60 * 1000;
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set("lambda-runtime-aws-request-id", invocation.id);
    set("lambda-runtime-deadline-ms", deadline.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:dirsync-worker".into(),
    );
    set(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000".into(),
    );
    set("content-type", "application/json".into());
    (
        StatusCode::OK,
        headers,
        Bytes::from(invocation.event.to_string()),
    )
}

fn answer(shared: &Shared, id: &str, result: Result<Value, String>) -> StatusCode {
    match shared.answers.lock().expect("answers lock").remove(id) {
        Some(waiting) => {
            let _ = waiting.send(result);
            StatusCode::ACCEPTED
        }
        None => StatusCode::NOT_FOUND,
    }
}

async fn response(
    State(shared): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    let value = serde_json::from_slice(&body).map_err(|e| format!("not JSON: {e}"));
    answer(&shared, &id, value)
}

async fn error(
    State(shared): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    answer(
        &shared,
        &id,
        Err(String::from_utf8_lossy(&body).into_owned()),
    )
}

async fn init_error(body: Bytes) -> StatusCode {
    eprintln!(
        "the worker failed to start: {}",
        String::from_utf8_lossy(&body)
    );
    StatusCode::ACCEPTED
}
