//! The domain model: no AWS, HTTP or database types here.

pub mod avatar;
pub mod changes;
pub mod config;
pub mod connection;
pub mod endpoint_policy;
pub mod extension;
pub mod ids;
pub mod ldap_filter;
pub mod mapping;
pub mod object_plan;
pub mod organization;
pub mod phonebook;
pub mod plan;
pub mod pushed;
pub mod read_state;
pub mod run;
pub mod sip_password;
pub mod tenant;
pub mod user;

pub use changes::{ChangeCursor, DirectoryChanges};
pub use config::{DirectoryConfig, EndpointPolicy, FieldError, InvalidConfig};
pub use connection::{Check, CheckName, ConnectionReport};
pub use extension::{Extension, NewExtension, MANAGED_BY};
pub use ids::{ExtensionId, GroupId, IdError, ObjectId, OrganizationId, RunId, TenantId};
pub use mapping::{Mapping, MappingLink};
pub use organization::{
    DirectoryGroup, DirectoryOrganization, ExtensionGroup, ObjectKind, ObjectLink, ObjectMapping,
    Organization,
};
pub use plan::Plan;
pub use pushed::{PushedKey, PushedKind, PushedResource};
pub use read_state::{KeptListing, KeptReads, ListingHead, ReadHead, ReadState};
pub use run::{
    DirectoryRead, Outcome, PbxRead, RunReads, RunRecord, RunSummary, Trigger, QUEUED_SUMMARY,
};
pub use tenant::{PbxEndpoint, Tenant, TenantState};
pub use user::{Coverage, DirectoryUser, Snapshot, UserState};
