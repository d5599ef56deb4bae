//! Plain-text rendering: short durations and aligned columns.

use chrono::{DateTime, Utc};

/// `45s`, `12m`, `3h 5m`, `2d 4h`.
pub fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// `5m ago`, or `-`.
pub fn ago(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    at.map_or("-".into(), |t| {
        format!("{} ago", duration((now - t).num_seconds()))
    })
}

/// Rows as columns padded to their widest cell; the last column is not padded.
pub fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let last = row.len().saturating_sub(1);
        for (c, cell) in row.iter().enumerate() {
            if c == last {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[c]));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(duration(-3), "0s");
        assert_eq!(duration(59), "59s");
        assert_eq!(duration(61), "1m");
        assert_eq!(duration(3 * 3600 + 5 * 60 + 9), "3h 5m");
        assert_eq!(duration(2 * 86_400 + 4 * 3600), "2d 4h");
    }

    #[test]
    fn columns_line_up() {
        let rows = vec![
            vec!["ORG".to_string(), "STATE".into(), "ERROR".into()],
            vec!["acme-prod".to_string(), "ok".into(), "-".into()],
        ];
        assert_eq!(
            table(&rows),
            "ORG        STATE  ERROR\nacme-prod  ok     -\n"
        );
    }
}
