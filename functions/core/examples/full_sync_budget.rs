//! Requests and hours of a full sync of every directory stream, for an org of a given size,
//! under Okta's default rate limits: `cargo run -p okta-relay --example full_sync_budget
//! [users]` (default 100 000). Prints the BENCHMARKS.md table.
//!
//! The requests follow the catalogue (each endpoint's page size, paging and fan-out); the org's
//! shape scales with its users (the ratios below, stated in the table). The rate is Okta's
//! documented Workforce default for the endpoint's bucket, halved (by default one token or
//! OAuth app may use 50 % of a bucket), less the relay's default 10 % reserve, and never more
//! than one request per `LATENCY` (the poller asks one page at a time).

use okta_relay::inventory::catalogue::{Paging, STREAMS, StreamSpec};
use okta_relay::okta::RateLimitBucket;
use std::collections::BTreeMap;

/// One request's round trip, as the poller waits for it.
const LATENCY_SECONDS: f64 = 0.15;
/// Okta's default per-token share of a bucket.
const TOKEN_SHARE: f64 = 0.5;
/// The relay's default `rate_limit_reserve`.
const RESERVE: f64 = 0.10;

/// Okta's Workforce per-minute defaults for the relay's buckets (the rate-limit dashboard's
/// table, docs at `rl-global-mgmt`): `/api/v1/users/*` children are taken at the users list's
/// 600, the conservative reading; other `/api/v1` endpoints at 1 200.
fn bucket_limit(bucket: &str) -> f64 {
    match bucket {
        "/api/v1/users" | "/api/v1/users/*" => 600.0,
        "/api/v1/groups" => 500.0,
        "/api/v1/groups/*" => 1000.0,
        "/api/v1/apps*" => 100.0,
        _ => 1200.0,
    }
}

/// The org's objects per stream (per parent, for fan-out streams), scaled from its users.
fn shape(stream: &str, users: f64) -> (f64, &'static str) {
    let k = users / 100_000.0;
    match stream {
        "users" => (users, "every user"),
        "groups" => (5_000.0 * k, "1 group per 20 users"),
        "group_members" => (200.0, "200 members per group (10 groups per user)"),
        "apps" => (500.0 * k, "1 app per 200 users"),
        "app_users" => (1_000.0, "1 000 users per app (5 apps per user)"),
        "app_groups" => (10.0, "10 groups per app"),
        "idps" => (10.0, "10"),
        "zones" => (30.0, "30"),
        "clients" => (300.0 * k, "300 per 100 000 users"),
        "admin_users" => (200.0 * k, "200 admins per 100 000 users"),
        "user_roles" => (2.0, "2 roles per admin"),
        "group_roles" => (1.0, "asked of every group"),
        "custom_roles" | "resource_sets" => (20.0, "20"),
        "user_factors" => (3.0, "3 factors per user"),
        "authenticators" => (10.0, "10"),
        "devices" => (120_000.0 * k, "1.2 devices per user"),
        "device_users" => (1.0, "1 user per device"),
        "policies" => (20.0, "20 per type"),
        "policy_rules" => (5.0, "5 rules per policy"),
        "authorization_servers" => (10.0, "10"),
        "auth_server_policies" => (5.0, "5 per server"),
        "auth_server_scopes" => (20.0, "20 per server"),
        "auth_server_claims" => (10.0, "10 per server"),
        "group_rules" => (300.0 * k, "300 per 100 000 users"),
        "user_types" => (5.0, "5"),
        "behaviors" => (10.0, "10"),
        "trusted_origins" => (50.0, "50"),
        "api_tokens" => (50.0, "50"),
        "event_hooks" => (20.0, "20"),
        "inline_hooks" => (10.0, "10"),
        "log_streams" => (2.0, "2"),
        "profile_mappings" => (600.0 * k, "1 per app and IdP"),
        _ => (0.0, "unknown"),
    }
}

/// Requests for `objects` objects in one listing of `spec`.
fn pages(spec: &StreamSpec, objects: f64) -> f64 {
    match (spec.paging, spec.limit) {
        (Paging::Whole, _) => 1.0,
        (_, true) => (objects / f64::from(spec.max_page_size)).ceil().max(1.0),
        // Okta's own page size for the `/iam` lists: 20 as observed for roles.
        (_, false) => (objects / 20.0).ceil().max(1.0),
    }
}

fn main() {
    let users: f64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000.0);
    let objects: BTreeMap<&str, f64> = STREAMS
        .iter()
        .map(|s| (s.name, shape(s.name, users).0))
        .collect();
    println!(
        "| stream | org shape | requests | bucket (Workforce default) | requests/min | hours |"
    );
    println!("|---|---|---:|---|---:|---:|");
    let (mut total_requests, mut total_hours) = (0.0, 0.0);
    for spec in STREAMS {
        let (count, said) = shape(spec.name, users);
        let sweeps = spec.sweep.map_or(1.0, |s| s.values.len() as f64);
        let requests = match spec.parent {
            None => pages(spec, count) * sweeps,
            // One listing per parent object, whether it has children or not.
            Some((parent, _)) => objects[parent] * pages(spec, count.max(1.0)),
        };
        let bucket = RateLimitBucket::for_path(&spec.path.replace("{id}", "x"));
        let limit = bucket_limit(bucket.as_str());
        let rate = (limit * TOKEN_SHARE * (1.0 - RESERVE)).min(60.0 / LATENCY_SECONDS);
        let hours = requests / rate / 60.0;
        total_requests += requests;
        total_hours += hours;
        println!(
            "| `{}` | {said} | {requests:.0} | `{bucket}` {limit:.0}/min | {rate:.0} | {hours:.2} |",
            spec.name
        );
    }
    println!(
        "| **all {} streams**, one after another | {users:.0} users | **{total_requests:.0}** | | | **{total_hours:.1}** |",
        STREAMS.len()
    );
}
