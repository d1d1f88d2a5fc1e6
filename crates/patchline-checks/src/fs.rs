//! (being written)
pub const CHECKS: &[crate::CheckDef] = &[];
#[derive(Debug, Default)]
pub struct FsInspector;
impl patchline_inventory::Inspector for FsInspector {
    fn name(&self) -> &'static str {
        "fs-0"
    }
}
