//! The `api` Lambda. The router and its API Gateway adapter are built and tested (`lib.rs`);
//! the AWS adapters it needs (DynamoDB store, Secrets Manager, SQS queue) are not built yet,
//! so this binary says so instead of pretending to work. Use `dirsync-local`.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!("dirsync-api: the AWS adapters are not built yet; run dirsync-local instead");
    ExitCode::FAILURE
}
