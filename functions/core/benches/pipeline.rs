//! Pipeline micro-benchmarks: what the relay does with one page of 1 000 System Log events,
//! without the network: parse the page, shape each event into its forwarded record, and plan
//! and build the PutEvents calls. The events are the simulator's (Okta's LogEvent shapes,
//! ≈2–4 KB each). Before criterion runs, the allocations per event of each stage are printed
//! (counted by `stats_alloc`). Figures and the command are in BENCHMARKS.md.

use chrono::Utc;
use criterion::{Criterion, Throughput};
use okta_relay::adapters::eventbridge::request_entries;
use okta_relay::pipeline::log_event;
use okta_relay::pipeline::log_header::LogEventHeader;
use okta_relay::pipeline::{DeliveryBatch, DeliveryPolicy, PendingRecord};
use okta_relay::ports::SinkEntry;
use okta_relay::record::CollectionPath;
use serde_json::value::RawValue;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;
use std::hint::black_box;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const EVENTS: usize = 1000;

/// One page as Okta sends it: a JSON array of LogEvents.
fn page() -> Vec<u8> {
    let seed = okta_sim::SeedConfig {
        backlog_events: EVENTS,
        backlog_hours: 2,
        ..okta_sim::SeedConfig::default()
    };
    let store = okta_sim::store::Store::seeded("https://acme.okta.com", &seed, Utc::now());
    let events: Vec<&str> = store.log.iter().map(|r| &*r.json).collect();
    format!("[{}]", events.join(",")).into_bytes()
}

fn parse(body: &[u8]) -> Vec<(Box<RawValue>, LogEventHeader)> {
    let items: Vec<Box<RawValue>> = serde_json::from_slice(body).expect("a page");
    items
        .into_iter()
        .map(|raw| {
            let header = LogEventHeader::parse(&raw).expect("a LogEvent");
            (raw, header)
        })
        .collect()
}

fn shape(parsed: &[(Box<RawValue>, LogEventHeader)]) -> Vec<PendingRecord> {
    let now = Utc::now();
    parsed
        .iter()
        .map(|(raw, h)| log_event::to_record(raw, h, ("acme", None), CollectionPath::Pull, now))
        .collect()
}

fn batch(entries: &[SinkEntry]) -> usize {
    let indices: Vec<usize> = (0..entries.len()).collect();
    DeliveryBatch::plan(entries, &indices, &DeliveryPolicy::default())
        .iter()
        .map(|b| {
            let call: Vec<&SinkEntry> = b.indices.iter().map(|&i| &entries[i]).collect();
            request_entries("okta-relay-delivery", &call).len()
        })
        .sum()
}

/// Allocations per event of each stage, counted once.
fn allocations(body: &[u8]) {
    let per_event = |n: usize| n as f64 / EVENTS as f64;
    let region = Region::new(GLOBAL);
    let parsed = parse(body);
    let parse_allocs = region.change().allocations;
    let region = Region::new(GLOBAL);
    let records = shape(&parsed);
    let shape_allocs = region.change().allocations;
    let entries: Vec<SinkEntry> = records.into_iter().map(|r| r.entry).collect();
    let region = Region::new(GLOBAL);
    black_box(batch(&entries));
    let batch_allocs = region.change().allocations;
    println!(
        "allocations per event: parse {:.1}, shape {:.1}, batch {:.1} (page of {EVENTS} events, {} bytes, {:.0} bytes/event)",
        per_event(parse_allocs),
        per_event(shape_allocs),
        per_event(batch_allocs),
        body.len(),
        body.len() as f64 / EVENTS as f64
    );
}

fn benches(c: &mut Criterion) {
    let body = page();
    allocations(&body);
    let parsed = parse(&body);
    let entries: Vec<SinkEntry> = shape(&parsed).into_iter().map(|r| r.entry).collect();

    let mut group = c.benchmark_group("page_of_1000_events");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("parse", |b| b.iter(|| parse(black_box(&body))));
    group.bench_function("shape", |b| b.iter(|| shape(black_box(&parsed))));
    group.bench_function("batch", |b| b.iter(|| batch(black_box(&entries))));
    group.bench_function("parse_shape_batch", |b| {
        b.iter(|| {
            let parsed = parse(black_box(&body));
            let entries: Vec<SinkEntry> = shape(&parsed).into_iter().map(|r| r.entry).collect();
            batch(&entries)
        })
    });
    group.finish();

    let mut bytes = c.benchmark_group("page_bytes");
    bytes.throughput(Throughput::Bytes(body.len() as u64));
    bytes.bench_function("parse_shape_batch", |b| {
        b.iter(|| {
            let parsed = parse(black_box(&body));
            let entries: Vec<SinkEntry> = shape(&parsed).into_iter().map(|r| r.entry).collect();
            batch(&entries)
        })
    });
    bytes.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
}
