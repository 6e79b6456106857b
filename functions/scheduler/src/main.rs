//! The `scheduler` Lambda. Its AWS wiring (lambda_runtime, DynamoDB, Secrets Manager, SQS) is not built
//! yet; until then this binary says so instead of pretending to work. Use `dirsync-local`.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "dirsync-scheduler: the AWS Lambda wiring is not built yet; run dirsync-local instead"
    );
    ExitCode::FAILURE
}
