//! (being written)
pub const CHECKS: &[crate::CheckDef] = &[];
#[derive(Debug, Default)]
pub struct SecretInspector;
impl patchline_inventory::Inspector for SecretInspector {
    fn name(&self) -> &'static str {
        "secrets-0"
    }
}
