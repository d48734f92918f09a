//! Store tests on both backends: transactions, versions, constraints, migrations.

#[path = "../common/mod.rs"]
mod common;

mod audit;
mod basics;
mod bulk;
mod cases;
mod registry;
mod throttle;
