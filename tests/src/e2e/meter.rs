//! A metering proxy in front of the emulated DynamoDB (moto or dynalite): every DynamoDB call
//! of the worker process passes through it, so the calls of a run are counted at the wire, by
//! operation, with their request units (estimated by DynamoDB's published item-size rules,
//! since the emulators do not bill) and the kind of item each write touched.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Response, StatusCode};
use axum::Router;
use serde_json::Value;

/// What the DynamoDB calls since the last [`DynamoMeter::take`] cost.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeterReport {
    /// Calls by operation (`Query`, `PutItem`, ...).
    pub calls: BTreeMap<String, u64>,
    /// Time the emulator took to answer them, by operation: where a slow run waits.
    pub answer_time: BTreeMap<String, Duration>,
    pub read_units: f64,
    pub write_units: f64,
    /// Items written (put, updated or deleted) by kind: `mapping`, `run`, `lease`, `tenant`,
    /// `read_state_head`, `read_state_body` (the first three of the tenant item's updates by
    /// the attributes they name).
    pub writes_by_kind: BTreeMap<String, u64>,
    /// Query pages that read a tenant's mappings.
    pub mapping_query_pages: u64,
}

impl MeterReport {
    pub fn total_calls(&self) -> u64 {
        self.calls.values().sum()
    }

    pub fn calls_line(&self) -> String {
        let parts: Vec<String> = self
            .calls
            .iter()
            .map(|(op, n)| {
                let time = self.answer_time.get(op).copied().unwrap_or_default();
                format!("{op} {n} in {:.0} ms", time.as_secs_f64() * 1000.0)
            })
            .collect();
        parts.join(", ")
    }

    pub fn writes_line(&self) -> String {
        let parts: Vec<String> = self
            .writes_by_kind
            .iter()
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect();
        parts.join(", ")
    }
}

struct Shared {
    upstream: String,
    client: reqwest::Client,
    report: Mutex<MeterReport>,
}

pub struct DynamoMeter {
    pub endpoint: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl DynamoMeter {
    /// Listens on 127.0.0.1 and forwards everything to `upstream` (the emulator's endpoint).
    pub async fn start(upstream: &str) -> Self {
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            client: reqwest::Client::new(),
            report: Mutex::new(MeterReport::default()),
        });
        let app = Router::new().fallback(forward).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("a port for the meter");
        let endpoint = format!("http://{}", listener.local_addr().expect("meter address"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            endpoint,
            shared,
            server,
        }
    }

    /// The calls since the last take, and a fresh count from now on.
    pub fn take(&self) -> MeterReport {
        std::mem::take(&mut *self.shared.report.lock().expect("meter lock"))
    }
}

impl Drop for DynamoMeter {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn forward(State(shared): State<Arc<Shared>>, request: Request) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, usize::MAX).await else {
        return status(StatusCode::BAD_REQUEST);
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut headers = parts.headers.clone();
    for hop in ["host", "content-length", "connection"] {
        headers.remove(hop);
    }
    let started = Instant::now();
    let answer = shared
        .client
        .request(parts.method, format!("{}{path}", shared.upstream))
        .headers(headers)
        .body(body.clone())
        .send()
        .await;
    let Ok(answer) = answer else {
        return status(StatusCode::BAD_GATEWAY);
    };
    let code = answer.status();
    let mut answer_headers = HeaderMap::new();
    for (name, value) in answer.headers() {
        if !matches!(
            name.as_str(),
            "content-length" | "transfer-encoding" | "connection"
        ) {
            answer_headers.append(name, value.clone());
        }
    }
    let Ok(answer_body) = answer.bytes().await else {
        return status(StatusCode::BAD_GATEWAY);
    };
    let took = started.elapsed();
    let operation = parts
        .headers
        .get("x-amz-target")
        .and_then(|t| t.to_str().ok())
        .and_then(|t| t.strip_prefix("DynamoDB_20120810."));
    if let Some(operation) = operation {
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let response: Value = serde_json::from_slice(&answer_body).unwrap_or(Value::Null);
        let mut report = shared.report.lock().expect("meter lock");
        meter(&mut report, operation, &request, &response);
        *report.answer_time.entry(operation.to_string()).or_default() += took;
    }
    let mut response = Response::new(Body::from(answer_body));
    *response.status_mut() = code;
    *response.headers_mut() = answer_headers;
    response
}

fn status(code: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = code;
    response
}

/// Adds one call to the report. Units follow DynamoDB's on-demand rules: a write is 1 WRU per
/// started KB of the item (2 in a transaction); a read 1 RRU per started 4 KB, half for an
/// eventually consistent one, a Query summing its items before rounding.
fn meter(report: &mut MeterReport, operation: &str, request: &Value, response: &Value) {
    *report.calls.entry(operation.to_string()).or_default() += 1;
    let consistency = if request["ConsistentRead"] == Value::Bool(true) {
        1.0
    } else {
        0.5
    };
    let read_units = |bytes: usize| (bytes.div_ceil(4096).max(1)) as f64 * consistency;
    let write_units = |bytes: usize| bytes.div_ceil(1024).max(1) as f64;
    match operation {
        "GetItem" => report.read_units += read_units(item_size(&response["Item"])),
        "Query" | "Scan" => {
            let items = response["Items"].as_array().map_or(&[][..], Vec::as_slice);
            report.read_units += read_units(items.iter().map(item_size).sum());
            if mapping_query(request) {
                report.mapping_query_pages += 1;
            }
        }
        "BatchGetItem" => {
            let tables = response["Responses"].as_object().into_iter().flatten();
            for (_, items) in tables {
                for item in items.as_array().into_iter().flatten() {
                    report.read_units += read_units(item_size(item));
                }
            }
        }
        "PutItem" => {
            report.write_units += write_units(item_size(&request["Item"]));
            wrote(report, &request["Item"]);
        }
        "UpdateItem" | "DeleteItem" => {
            // The item's size is on the wire only when the old item is returned; else this
            // store's items are taken as under 1 KB.
            report.write_units += write_units(item_size(&response["Attributes"]));
            let updates = request["ExpressionAttributeNames"]
                .as_object()
                .into_iter()
                .flat_map(|names| names.values())
                .filter_map(Value::as_str);
            wrote_to(report, &request["Key"], updates);
        }
        "BatchWriteItem" => {
            let tables = request["RequestItems"].as_object().into_iter().flatten();
            for (_, writes) in tables {
                for write in writes.as_array().into_iter().flatten() {
                    let item = &write["PutRequest"]["Item"];
                    if item.is_object() {
                        report.write_units += write_units(item_size(item));
                        wrote(report, item);
                    } else {
                        report.write_units += 1.0;
                        wrote(report, &write["DeleteRequest"]["Key"]);
                    }
                }
            }
        }
        "TransactWriteItems" => {
            for entry in request["TransactItems"].as_array().into_iter().flatten() {
                let (kind, body) = entry
                    .as_object()
                    .and_then(|o| o.iter().next())
                    .map_or(("", &Value::Null), |(k, v)| (k.as_str(), v));
                let item = if kind == "Put" {
                    &body["Item"]
                } else {
                    &body["Key"]
                };
                if kind != "ConditionCheck" {
                    report.write_units += 2.0 * write_units(item_size(item));
                    wrote(report, item);
                }
            }
        }
        _ => {}
    }
}

fn wrote(report: &mut MeterReport, item: &Value) {
    wrote_to(report, item, std::iter::empty());
}

/// Counts a write of `item` (its key at least) by kind; on the tenant item, which also holds
/// the lease and the kept read head, by the attributes an update names.
fn wrote_to<'a>(report: &mut MeterReport, item: &Value, names: impl Iterator<Item = &'a str>) {
    let sk = item["sk"]["S"].as_str().unwrap_or_default();
    let kind = if sk.starts_with("MAP#") {
        "mapping"
    } else if sk.starts_with("RUN") {
        "run"
    } else if sk == "TENANT" {
        let names: Vec<&str> = names.collect();
        if names.contains(&"read_head") {
            "read_state_head"
        } else if names.contains(&"lease_run") {
            "lease"
        } else {
            "tenant"
        }
    } else if sk.starts_with("READPART#") {
        "read_state_body"
    } else {
        "other"
    };
    *report.writes_by_kind.entry(kind.to_string()).or_default() += 1;
}

fn mapping_query(request: &Value) -> bool {
    request["ExpressionAttributeValues"]
        .as_object()
        .is_some_and(|values| values.values().any(|v| v["S"] == "MAP#"))
}

/// An item's size by DynamoDB's rules: attribute names plus values, strings and binaries by
/// their bytes, numbers by about one byte per two digits, containers 3 bytes plus contents.
pub fn item_size(item: &Value) -> usize {
    item.as_object().map_or(0, |attrs| {
        attrs.iter().map(|(k, v)| k.len() + value_size(v)).sum()
    })
}

fn value_size(value: &Value) -> usize {
    let Some((kind, inner)) = value.as_object().and_then(|o| o.iter().next()) else {
        return 0;
    };
    let text = || inner.as_str().unwrap_or_default();
    match kind.as_str() {
        "S" => text().len(),
        "N" => text().trim_start_matches('-').len().div_ceil(2) + 1,
        "B" => text().len() * 3 / 4,
        "BOOL" | "NULL" => 1,
        "M" => 3 + item_size(inner),
        "L" => {
            3 + inner
                .as_array()
                .map_or(0, |l| l.iter().map(|v| 1 + value_size(v)).sum())
        }
        "SS" | "NS" | "BS" => inner.as_array().map_or(0, |l| {
            l.iter()
                .map(|v| value_size(&serde_json::json!({ &kind[..1]: v })))
                .sum()
        }),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn item_sizes_follow_dynamodb_rules() {
        let item = json!({"pk": {"S": "acme"}, "n": {"N": "12345"}, "ok": {"BOOL": true},
            "m": {"M": {"a": {"S": "xy"}}}});
        // pk 2+4, n 1+(3+1), ok 2+1, m 1+3+(1+2)
        assert_eq!(item_size(&item), 6 + 5 + 3 + 7);
    }

    #[test]
    fn a_query_of_mappings_is_one_page_and_its_units_round_up() {
        let mut report = MeterReport::default();
        let request =
            json!({"ExpressionAttributeValues": {":p": {"S": "acme"}, ":m": {"S": "MAP#"}}});
        let big = "x".repeat(5000);
        let response = json!({"Items": [{"pk": {"S": big}}]});
        meter(&mut report, "Query", &request, &response);
        assert_eq!(report.mapping_query_pages, 1);
        assert_eq!(
            report.read_units, 1.0,
            "5 KB eventually consistent: 2 x 0.5"
        );
        meter(
            &mut report,
            "PutItem",
            &json!({"Item": {"sk": {"S": "MAP#x"}}}),
            &Value::Null,
        );
        assert_eq!(report.writes_by_kind.get("mapping"), Some(&1));
        assert_eq!(report.write_units, 1.0);
    }
}
