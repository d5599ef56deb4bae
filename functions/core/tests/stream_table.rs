//! The directory stream table of `docs/configuration.md`, generated from the catalogue and the
//! deletion rules: `OKTA_RELAY_BLESS=1` rewrites it, and the test fails when the committed text
//! differs.

use okta_relay::inventory::catalogue::{Paging, STREAMS, StreamSpec};
use std::fmt::Write;

const START: &str = "<!-- stream table: generated from the catalogue, do not edit -->";
const END: &str = "<!-- end of stream table -->";

fn paging(s: &StreamSpec) -> String {
    let how = match s.paging {
        Paging::Link => "`Link`",
        Paging::Envelope(key) => &format!("body `{key}`, `_links.next`"),
        Paging::Whole => return "one response".into(),
    };
    match s.limit {
        true => format!("{how}; {} ({})", s.default_page_size, s.max_page_size),
        false => format!("{how}; Okta's size"),
    }
}

fn runs(s: &StreamSpec) -> String {
    if let Some((parent, _)) = s.parent {
        return format!("with `{parent}`");
    }
    let mut out = format!("{} s", s.interval_seconds);
    if let Some(delta) = s.delta {
        let _ = write!(
            out,
            "; delta every {} s: `{}` on {}",
            delta.interval_seconds,
            delta.param,
            delta
                .attributes
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    out
}

fn endpoint(s: &StreamSpec) -> String {
    match s.sweep {
        Some(sweep) => format!(
            "`{}?{}=` each of {}",
            s.path,
            sweep.param,
            sweep.values.len()
        ),
        None => format!("`{}`", s.path),
    }
}

fn table() -> String {
    let mut out = format!("{START}\n\n");
    out.push_str(
        "| stream | endpoint | paging; page (max) | runs | scope | deletions from the System Log | `DetailType` |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|\n");
    for s in STREAMS {
        let deletions = okta_relay::shape::inventory_change::deletion_events(s.name);
        let deletions = match deletions.is_empty() {
            true => "none (the full sync)".to_string(),
            false => deletions
                .iter()
                .map(|e| format!("`{e}`"))
                .collect::<Vec<_>>()
                .join(", "),
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | `{}` | {deletions} | `{}` |",
            s.name,
            endpoint(s),
            paging(s),
            runs(s),
            s.scope,
            s.detail_type
        );
    }
    let _ = write!(out, "\n{END}");
    out
}

#[test]
fn the_stream_table_in_configuration_md_matches_the_catalogue() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (Some(start), Some(end)) = (doc.find(START), doc.find(END)) else {
        panic!("docs/configuration.md has no stream table ({START} … {END})");
    };
    let fresh = format!("{}{}{}", &doc[..start], table(), &doc[end + END.len()..]);
    if std::env::var_os("OKTA_RELAY_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    assert!(
        std::fs::read_to_string(&path).unwrap() == fresh,
        "docs/configuration.md's stream table is stale: run OKTA_RELAY_BLESS=1 cargo test -p okta-relay --test stream_table"
    );
}
