//! Black-box tests through the real server and a real database, on both backends.

#[path = "../common/mod.rs"]
mod common;

mod assessments;
mod audit;
mod authn;
mod authz;
mod campaigns;
mod contacts;
mod conventions;
mod cors;
mod departments;
mod enterprises;
mod examples;
mod exchange;
mod exchange_chunks;
mod health;
mod hostile;
mod households;
mod limits;
mod lists;
mod measures;
mod openapi;
mod organisations;
mod plan_facts;
mod prepared;
mod reports;
mod verifications;
mod workflows;
mod world;
