//! The `private_key_jwt` client assertion (RFC 7523) Okta service apps authenticate with.
//!
//! Signed with the service app's private key (RS256 or ES256, PKCS#8 PEM from the org's
//! secret), `kid` in the header, `iss` = `sub` = the client id, `aud` = the token endpoint, a
//! five-minute `exp` and a unique `jti` (Okta refuses a reused one).

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// Signature algorithms Okta accepts for client assertions that we support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum KeyAlgorithm {
    RS256,
    ES256,
}

/// One signing key of a service app, as the secret holds it.
#[derive(Clone, Deserialize)]
pub struct ClientKey {
    pub kid: String,
    pub algorithm: KeyAlgorithm,
    /// PKCS#8 PEM (the "PRIVATE KEY" label).
    pub private_key: SecretString,
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ClientKey({}, {:?}, [REDACTED])",
            self.kid, self.algorithm
        )
    }
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
}

use crate::limits::OAUTH_ASSERTION_SECONDS as ASSERTION_SECONDS;

impl ClientKey {
    /// Checks that the key parses, without signing anything.
    pub fn validate(&self) -> Result<(), &'static str> {
        self.encoding_key().map(|_| ())
    }

    fn encoding_key(&self) -> Result<EncodingKey, &'static str> {
        let pem = self.private_key.expose_secret().as_bytes();
        match self.algorithm {
            KeyAlgorithm::RS256 => EncodingKey::from_rsa_pem(pem),
            KeyAlgorithm::ES256 => EncodingKey::from_ec_pem(pem),
        }
        .map_err(|_| "is not a PKCS#8 PEM private key of the given algorithm")
    }

    /// A signed assertion for `client_id` at `token_url`.
    pub fn assertion(
        &self,
        client_id: &str,
        token_url: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<SecretString, &'static str> {
        let mut header = Header::new(match self.algorithm {
            KeyAlgorithm::RS256 => Algorithm::RS256,
            KeyAlgorithm::ES256 => Algorithm::ES256,
        });
        header.kid = Some(self.kid.clone());
        let claims = AssertionClaims {
            iss: client_id,
            sub: client_id,
            aud: token_url,
            iat: now.timestamp(),
            exp: now.timestamp() + ASSERTION_SECONDS,
            jti: super::unique_id(),
        };
        jsonwebtoken::encode(&header, &claims, &self.encoding_key()?)
            .map(SecretString::from)
            .map_err(|_| "could not be used to sign the client assertion")
    }
}
