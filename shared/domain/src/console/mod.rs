//! The staff console (seed 000, "Interface de gestion des comptes lecteurs au
//! niveau central"): one patron across every institution, and actions on all
//! of that patron's accounts at once — queued through the per-institution
//! workers, audited, with a result per institution.

mod audit;
mod service;
mod view;

pub use audit::{AuditEntry, AuditLog, ConsoleAction};
pub use service::{Console, ConsoleError, ConsolePorts};
pub use view::{
    AccountSummary, AuditReport, InstitutionResult, InstitutionRow, PatronOverview, Presence,
};
