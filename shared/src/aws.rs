//! What the AWS adapters (DynamoDB store, Secrets Manager secrets, SQS queue) share: how an
//! SDK error becomes a one-line message. The Lambdas' wiring of them is [`crate::lambda`].

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// "{operation} failed: {code}: {message}" for errors the service answered, and the error
/// chain for those it did not (timeouts, connection errors). Never the raw response.
pub(crate) fn sdk_error_message<E, R>(
    service: &str,
    operation: &str,
    error: &SdkError<E, R>,
) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{service} {operation} failed: {code}: {message}"),
        (Some(code), None) => format!("{service} {operation} failed: {code}"),
        _ => format!(
            "{service} {operation} failed: {}",
            DisplayErrorContext(error)
        ),
    }
}
