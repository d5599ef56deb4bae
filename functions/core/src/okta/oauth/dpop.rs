//! DPoP (RFC 9449): proof-of-possession for Okta access tokens.
//!
//! One P-256 key pair per process, generated at first use and never stored or logged. Each
//! request carries a fresh proof: a JWT with `typ: dpop+jwt` and the public key in its header,
//! and the claims `htm`, `htu` (the URL without query and fragment), `iat`, a unique `jti`, the
//! server's `nonce` when it asked for one, and `ath` (the access token's SHA-256) on resource
//! requests.

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use std::sync::OnceLock;
use url::Url;

/// The process's DPoP key.
pub struct DpopKey {
    encoding: EncodingKey,
    public: Jwk,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DpopKey([REDACTED])")
    }
}

#[derive(Serialize)]
struct ProofClaims<'a> {
    htm: &'a str,
    htu: &'a str,
    iat: i64,
    jti: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ath: Option<String>,
}

impl DpopKey {
    /// The process-wide key (generated once).
    pub fn process() -> Result<&'static DpopKey, String> {
        static KEY: OnceLock<Result<DpopKey, String>> = OnceLock::new();
        KEY.get_or_init(DpopKey::generate)
            .as_ref()
            .map_err(Clone::clone)
    }

    fn generate() -> Result<DpopKey, String> {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &aws_lc_rs::rand::SystemRandom::new(),
        )
        .map_err(|_| "could not generate the DPoP key".to_string())?;
        let encoding = EncodingKey::from_ec_der(pkcs8.as_ref());
        let public = Jwk::from_encoding_key(&encoding, Algorithm::ES256)
            .map_err(|_| "could not derive the DPoP public key".to_string())?;
        Ok(DpopKey { encoding, public })
    }

    /// A proof for `method` on `url`, bound to `access_token` when given.
    pub fn proof(
        &self,
        method: &str,
        url: &Url,
        nonce: Option<&str>,
        access_token: Option<&str>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<String, String> {
        let mut htu = url.clone();
        htu.set_query(None);
        htu.set_fragment(None);
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(self.public.clone());
        let claims = ProofClaims {
            htm: method,
            htu: htu.as_str(),
            iat: now.timestamp(),
            jti: super::unique_id(),
            nonce,
            ath: access_token.map(|t| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
                    &aws_lc_rs::digest::SHA256,
                    t.as_bytes(),
                ))
            }),
        };
        jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|_| "could not sign a DPoP proof".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_part(jwt: &str, i: usize) -> serde_json::Value {
        let part = jwt.split('.').nth(i).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn proofs_carry_the_public_key_and_bind_the_request() {
        let key = DpopKey::process().unwrap();
        let url = Url::parse("https://acme.okta.com/api/v1/logs?after=x#f").unwrap();
        let now = chrono::Utc::now();
        let a = key
            .proof("GET", &url, Some("n1"), Some("tok"), now)
            .unwrap();
        let b = key.proof("GET", &url, None, None, now).unwrap();
        let header = decode_part(&a, 0);
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["jwk"]["kty"], "EC");
        assert!(header["jwk"].get("d").is_none(), "no private part");
        let claims = decode_part(&a, 1);
        assert_eq!(claims["htu"], "https://acme.okta.com/api/v1/logs");
        assert_eq!(claims["htm"], "GET");
        assert_eq!(claims["nonce"], "n1");
        // SHA-256("tok"), base64url.
        assert_eq!(claims["ath"], "GnZ0607njffhrEOak8P6jjyUV4TU3sn9jjARc4svHWI");
        assert_ne!(claims["jti"], decode_part(&b, 1)["jti"]);
        assert!(decode_part(&b, 1).get("ath").is_none());
    }
}
