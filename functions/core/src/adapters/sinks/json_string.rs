//! A string written as a JSON string, escaped in one pass.
//!
//! Every record crosses this once per delivery: a `Detail` is JSON text that the PutEvents body
//! carries as a JSON string, so its quotes (one every ten bytes or so) are each escaped. Escaping
//! a byte at a time through a writer (the SDK's serializer, or `serde_json`'s) made this the
//! largest single cost of the poller's own code in a profile (BENCHMARKS.md). Here the scan for
//! the next byte JSON requires escaped reads eight bytes at a time, the runs between them are
//! copied whole, and the output is reserved once. The text is exactly `serde_json`'s (a test
//! holds it to that), so a body reads back as the same strings.

/// Whether JSON requires `byte` escaped in a string.
fn needs_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// The position of the first byte in `word` (read little-endian) that needs escaping. A byte
/// below 0x80 that matches sets its high bit in `found`; borrows can set bits above a true match
/// but never below one, so the lowest bit set is always a true match.
fn first_in_word(word: u64) -> Option<usize> {
    // Eight copies of a byte each: 0x01, 0x80, `"`, `\`, and 0x20, below which bytes are
    // control characters.
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    const QUOTE: u64 = 0x2222_2222_2222_2222;
    const BACKSLASH: u64 = 0x5C5C_5C5C_5C5C_5C5C;
    const FIRST_PRINTABLE: u64 = 0x2020_2020_2020_2020;
    let quote = word ^ QUOTE;
    let backslash = word ^ BACKSLASH;
    let found = ((quote.wrapping_sub(ONES) & !quote)
        | (backslash.wrapping_sub(ONES) & !backslash)
        | (word.wrapping_sub(FIRST_PRINTABLE) & !word))
        & HIGH_BITS;
    (found != 0).then(|| found.trailing_zeros() as usize / 8)
}

/// The position of the first byte at or after `from` that needs escaping.
fn next_escape(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        if let Some(offset) = first_in_word(u64::from_le_bytes(word)) {
            return Some(at + offset);
        }
        at += 8;
    }
    bytes[at..]
        .iter()
        .position(|&b| needs_escape(b))
        .map(|offset| at + offset)
}

/// Appends `value` to `out` as a JSON string, quotes included, as `serde_json` writes it.
pub fn write(out: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    out.reserve(bytes.len() + bytes.len() / 8 + 2);
    out.push(b'"');
    let mut run = 0;
    while let Some(at) = next_escape(bytes, run) {
        out.extend_from_slice(&bytes[run..at]);
        escape(out, bytes[at]);
        run = at + 1;
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

/// The escape of one byte that needs it, in `serde_json`'s spelling.
fn escape(out: &mut Vec<u8>, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match byte {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0C => out.extend_from_slice(b"\\f"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        _ => out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(byte >> 4)],
            HEX[usize::from(byte & 0xF)],
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn written(value: &str) -> String {
        let mut out = Vec::new();
        write(&mut out, value);
        String::from_utf8(out).expect("UTF-8 in, UTF-8 out")
    }

    #[test]
    fn escapes_what_json_requires_and_nothing_else() {
        for value in [
            "",
            "plain",
            "\"",
            "\\",
            "a\"b\\c",
            "\u{0}\u{1}\u{8}\u{9}\u{a}\u{b}\u{c}\u{d}\u{1f} \u{7f}",
            "é 🙂 \u{2028} </script>",
            "exactly8",
            "seven\"7",
            "\"\"\"\"\"\"\"\"\"",
            r#"{"okta":{"uuid":"u-1","displayMessage":"say \"hi\"","n":1},"relay":{}}"#,
        ] {
            assert_eq!(
                written(value),
                serde_json::to_string(value).unwrap(),
                "{value:?}"
            );
        }
    }

    #[test]
    fn bytes_at_and_above_0x80_are_never_taken_for_ones_to_escape() {
        // 0xA2 and 0xDC are `"` and `\` with the high bit set; 0x80–0x9F are "control" with it.
        let value = "¢Ü\u{80}\u{9f}ÿĀ\u{5c22}\u{225c}";
        assert_eq!(written(value), serde_json::to_string(value).unwrap());
    }

    proptest! {
        #[test]
        fn writes_exactly_what_serde_json_writes(value in any::<String>()) {
            prop_assert_eq!(written(&value), serde_json::to_string(&value).unwrap());
        }

        #[test]
        fn json_like_text_too(value in r#"[a-z"\\{}:,\x00-\x1f é]{0,64}"#) {
            prop_assert_eq!(written(&value), serde_json::to_string(&value).unwrap());
        }
    }
}
