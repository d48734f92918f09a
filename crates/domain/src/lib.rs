//! The rules of the urban hardship-worker relief programme (城市困难职工解困脱困).
//!
//! Pure value types and decisions: nothing here performs I/O, touches a database or knows HTTP.
//! Every type that crosses the boundary is parsed once ("parse, don't validate") and is then valid
//! by construction.

pub mod access;
pub mod assistance;
pub mod calendar;
pub mod campaign;
pub mod closed;
pub mod contact;
pub mod credit_code;
pub mod department;
pub mod household;
pub mod measure;
pub mod national_id;
pub mod organisation;
pub mod region;
pub mod report;
pub mod rules;
pub mod text;
pub mod verification;
pub mod workflow;

pub use credit_code::{CreditCode, CreditCodeError};
pub use department::{DepartmentCode, UnknownDepartmentCode};
pub use measure::{Measure, Mechanism};
pub use national_id::{NationalId, NationalIdError, Sex};
pub use organisation::{check_placement, OrganisationKind, PlacementError, UnionType};
pub use region::{RegionCode, RegionCodeError, RegionLevel};
pub use text::{Name, NameError};
