//! The rules against hand-worked cases kept as data (`tests/rules/cases/*.json`), and property
//! tests of their invariants; the plan rules (一户一策) against tables of cases written here.
//!
//! A case gives the policy (the defaults, with overrides), the household in a compact form and
//! what the rules must conclude. Every case is worked out by hand in its `worked` text.

mod cases;
mod plan;
mod plan_properties;
mod properties;
