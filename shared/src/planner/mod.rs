//! TEMPORARY stand-in until the planner branch merges.
use crate::domain::{DirectoryConfig, Extension, Mapping, Plan, Snapshot};
pub struct PlanInput<'a> {
    pub snapshot: &'a Snapshot,
    pub mappings: &'a [Mapping],
    pub extensions: &'a [Extension],
    pub config: &'a DirectoryConfig,
}
pub fn plan(_input: &PlanInput<'_>) -> Plan {
    unimplemented!()
}
