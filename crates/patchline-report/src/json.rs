//! The inventory itself, in patchline's versioned JSON schema.
//!
//! Printed as is, in the producer's order: this document is what other patchline commands
//! and the server read back, so the renderer must not reinterpret it.

use std::io;

use patchline_model::Inventory;

pub(crate) fn render(inv: &Inventory, out: &mut dyn io::Write) -> io::Result<()> {
    crate::write_json(inv, out)
}
