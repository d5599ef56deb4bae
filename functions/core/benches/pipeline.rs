//! Pipeline micro-benchmarks: what the relay does with one page of 1 000 System Log events,
//! without the network: parse the page, shape each event into its forwarded record (raw, and
//! OCSF), plan and build the PutEvents calls, and encode the page's OCSF events as Security
//! Lake Parquet. The events are the simulator's (Okta's LogEvent shapes,
//! ≈2–4 KB each). Before criterion runs, the allocations per event of each stage are printed
//! (counted by `stats_alloc`). Figures and the command are in BENCHMARKS.md.

use chrono::Utc;
use criterion::{Criterion, Throughput};
use okta_relay::adapters::sinks::put_events_body;
use okta_relay::lake::{self, LakeEvent};
use okta_relay::ocsf;
use okta_relay::pipeline::{DeliveryBatch, DeliveryPolicy, PendingRecord};
use okta_relay::ports::SinkEntry;
use okta_relay::record::{CollectionPath, RelayMetadata};
use okta_relay::shape::log_event;
use okta_relay::shape::log_header::LogEventHeader;
use serde_json::value::RawValue;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;
use std::collections::BTreeMap;
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

/// Each event's OCSF form (`output: ocsf`): the mapping table applied, the entry built.
fn shape_ocsf(parsed: &[(Box<RawValue>, LogEventHeader)]) -> Vec<SinkEntry> {
    let now = Utc::now();
    let relay = RelayMetadata::new("acme", "logs", CollectionPath::Pull, now, String::new());
    parsed
        .iter()
        .map(|(raw, h)| ocsf::entry(&ocsf::system_log(raw, &relay, h.time_or(now))))
        .collect()
}

/// The page's lake events, one Parquet object per class; returns the Parquet bytes.
fn encode_lake(events: &[LakeEvent]) -> usize {
    let mut by_class: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
    for e in events {
        by_class.entry(e.class_uid).or_default().push(&e.line);
    }
    by_class
        .iter()
        .map(|(class, lines)| lake::parquet::encode(*class, lines).expect("encodes").len())
        .sum()
}

fn lake_events(parsed: &[(Box<RawValue>, LogEventHeader)]) -> Vec<LakeEvent> {
    let now = Utc::now();
    let relay = RelayMetadata::new("acme", "logs", CollectionPath::Pull, now, String::new());
    parsed
        .iter()
        .map(|(raw, h)| {
            LakeEvent::new(
                "acme",
                &h.uuid,
                &ocsf::system_log(raw, &relay, h.time_or(now)),
            )
        })
        .collect()
}

fn batch(entries: &[SinkEntry]) -> usize {
    let indices: Vec<usize> = (0..entries.len()).collect();
    DeliveryBatch::plan(
        entries,
        &indices,
        &DeliveryPolicy::default().batch_limits(okta_relay::ports::SinkLimits::Configured),
    )
    .iter()
    .map(|b| {
        let call: Vec<&SinkEntry> = b.indices.iter().map(|&i| &entries[i]).collect();
        put_events_body::write("okta-relay-delivery", &call).len()
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
    let region = Region::new(GLOBAL);
    let ocsf_entries = shape_ocsf(&parsed);
    let ocsf_allocs = region.change().allocations;
    let events = lake_events(&parsed);
    let region = Region::new(GLOBAL);
    let parquet_bytes = encode_lake(&events);
    let encode_allocs = region.change().allocations;
    let raw_detail: usize = entries.iter().map(|e| e.detail.len()).sum();
    let ocsf_detail: usize = ocsf_entries.iter().map(|e| e.detail.len()).sum();
    let lake_json: usize = events.iter().map(|e| e.line.len()).sum();
    println!(
        "allocations per event: shape_ocsf {:.1}, lake_encode {:.1}; bytes per event: raw record {:.0}, OCSF record {:.0}, lake JSON {:.0}, Parquet {:.0}",
        per_event(ocsf_allocs),
        per_event(encode_allocs),
        per_event(raw_detail),
        per_event(ocsf_detail),
        per_event(lake_json),
        per_event(parquet_bytes),
    );
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
    group.bench_function("shape_ocsf", |b| b.iter(|| shape_ocsf(black_box(&parsed))));
    let events = lake_events(&parsed);
    group.bench_function("lake_encode", |b| {
        b.iter(|| encode_lake(black_box(&events)))
    });
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
