//! End-to-end and integration suites, one test binary (as ripgrep does) sharing `support`.
//!
//! They need the local AWS stack: run them through `make test`, or `make up` and
//! `source .local/stack.env` first.

#![allow(clippy::unwrap_used)]

mod adapters;
mod aws_fault_matrix;
mod aws_faults;
mod crash;
mod crash_suite;
mod ctl;
mod deploy;
mod fault_suite;
mod faults;
mod firehose;
mod identity_context;
mod inventory;
mod lake;
mod lake_staged;
mod lambda;
mod load;
mod many_orgs;
mod oauth;
mod ocsf;
mod pull;
mod push;
mod schemas;
mod support;
mod walkthrough;
mod watch;
