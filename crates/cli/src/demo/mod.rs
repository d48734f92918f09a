//! Demo data: the organisation tree of 汉中市总工会 and 西乡县, synthetic households loaded in
//! bulk, and workflow cases over some of them.

use anyhow::Context;
use jiekun_domain::RegionCode;

mod campaigns;
mod contacts;
mod generate;
mod households;
mod tree;
mod workflows;

pub use self::campaigns::campaigns;
pub use self::contacts::contacts;
pub use self::households::households;
pub use self::tree::load;
pub use self::workflows::cases;

/// The password of every demo user.
pub const DEMO_PASSWORD: &str = "Jiekun-demo-2026";

fn region(code: &str) -> anyhow::Result<RegionCode> {
    RegionCode::parse(code).with_context(|| format!("bad demo region {code}"))
}
