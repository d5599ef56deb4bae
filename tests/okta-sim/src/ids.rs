//! Okta-shaped identifiers: a three-character type prefix and 17 base62 characters
//! (`00u…` users, `00g…` groups, `0oa…` apps and clients, `nzo…` zones).

use rand::RngExt;

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// An id from a seeded generator (deterministic data).
pub fn seeded(rng: &mut impl rand::Rng, prefix: &str) -> String {
    let mut id = String::with_capacity(20);
    id.push_str(prefix);
    for _ in 0..17 {
        id.push(ALPHABET[rng.random_range(0..ALPHABET.len())] as char);
    }
    id
}

/// Random characters for ids that need not be reproducible (error ids, tokens).
pub fn random_suffix(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A version-4-shaped UUID from a seeded generator.
pub fn uuid(rng: &mut impl rand::Rng) -> String {
    let a: u128 = rng.random();
    let hex = format!("{a:032x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}
