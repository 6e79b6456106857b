//! The cloud directories, Microsoft Graph and Okta: HTTP with their retry and token rules,
//! and one paging reader that both plug into.

mod directory;
mod graph;
mod graph_batch;
mod graph_delta;
mod graph_photo;
mod graph_token;
mod groups;
mod http;
mod json_fields;
mod okta;
mod okta_auth;
mod okta_login;
mod okta_wire;
mod read;
mod token;
mod urls;

pub use graph::GraphDirectory;
pub use http::CloudOptions;
pub use okta::OktaDirectory;
