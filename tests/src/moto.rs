//! `moto_server` on 127.0.0.1 (real AWS APIs run locally) and `aws-sdk` clients pointed at it.
//! `scripts/test` installs moto (`pip install 'moto[server]'`) when it is missing.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use dirsync::store::{create_table, DynamoStore};
use rand::Rng;

/// `moto_server`'s app served by one thread. moto's DynamoDB checks a write's condition and
/// then writes with no lock, so with `moto_server`'s threaded server two concurrent
/// conditional puts can both succeed; DynamoDB makes them atomic. Serving one request at a
/// time restores that guarantee for the lease tests.
const SERIAL_MOTO_SERVER: &str = "import sys
from werkzeug.serving import run_simple
from moto.server import DomainDispatcherApplication, create_backend_app
run_simple('127.0.0.1', int(sys.argv[1]), DomainDispatcherApplication(create_backend_app), threaded=False)
";

/// A running moto server, killed when dropped. Each server keeps its own state in memory.
pub struct Moto {
    child: Child,
    pub endpoint: String,
    pub config: SdkConfig,
}

impl Moto {
    /// Starts moto's server on a free port of 127.0.0.1 and waits until it answers.
    pub async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("python3")
            .args(["-c", SERIAL_MOTO_SERVER, &port.to_string()])
            .env("MOTO_PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "moto_server is installed (scripts/test installs it: pip install 'moto[server]')",
            );
        let endpoint = format!("http://127.0.0.1:{port}");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut moto = Self {
            child,
            endpoint: endpoint.clone(),
            config: test_config(&endpoint).await,
        };
        for _ in 0..300 {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
                return moto;
            }
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto_server exited at start: {status}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("moto_server did not start listening on {endpoint}");
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.config)
    }

    pub fn secretsmanager(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.config)
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.config)
    }

    /// A new table with a random name, created as the store expects it.
    pub async fn store(&self) -> DynamoStore {
        let table = format!("dirsync-test-{:08x}", rand::rng().random::<u32>());
        let client = self.dynamodb();
        create_table(&client, &table).await.expect("create table");
        DynamoStore::new(client, table)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fixed test credentials and region, and every service at `endpoint`.
pub async fn test_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await
}
