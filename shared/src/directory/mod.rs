//! TEMPORARY
pub struct LdifDirectory;
impl LdifDirectory {
    pub fn new(_c: &crate::domain::DirectoryConfig, _r: &std::path::Path) -> Result<Self, crate::error::DirectoryError> { unimplemented!() }
}
#[async_trait::async_trait]
impl crate::ports::Directory for LdifDirectory {
    async fn read_users(&self) -> Result<crate::domain::Snapshot, crate::error::DirectoryError> { unimplemented!() }
}
