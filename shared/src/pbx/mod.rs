//! TEMPORARY
#[derive(Debug, Clone, Default)]
pub struct PbxClientOptions;
pub struct HttpPbx;
impl HttpPbx {
    pub fn new(_b: &str, _t: secrecy::SecretString, _o: PbxClientOptions) -> Result<Self, crate::error::PbxError> { unimplemented!() }
}
#[async_trait::async_trait]
impl crate::ports::Pbx for HttpPbx {
    async fn list_extensions(&self) -> Result<Vec<crate::domain::Extension>, crate::error::PbxError> { unimplemented!() }
    async fn create_extension(&self, _r: &crate::domain::NewExtension, _k: &str) -> Result<crate::domain::Extension, crate::error::PbxError> { unimplemented!() }
    async fn update_extension(&self, _i: &crate::domain::ExtensionId, _c: &serde_json::Map<String, serde_json::Value>) -> Result<crate::domain::Extension, crate::error::PbxError> { unimplemented!() }
    async fn delete_extension(&self, _i: &crate::domain::ExtensionId) -> Result<(), crate::error::PbxError> { unimplemented!() }
}
