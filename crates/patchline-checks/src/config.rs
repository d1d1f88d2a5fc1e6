//! (being written)
pub const CHECKS: &[crate::CheckDef] = &[];
