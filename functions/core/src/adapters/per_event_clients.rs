//! The SDK clients of the calls made for every few events: DynamoDB (the delivered marks,
//! cursors, leases), EventBridge (PutEvents) and Firehose (PutRecordBatch).
//!
//! The poller makes ≈ 150 of these calls per 1 000 events, so what the SDK does around each
//! call shows up in the CPU per event (BENCHMARKS.md). Two of its per-call steps buy these
//! clients nothing:
//!
//! - **The user agent.** The SDK's `UserAgentInterceptor` rebuilds the `User-Agent` and
//!   `x-amz-user-agent` headers on every call from its configuration bag. [`FixedUserAgent`]
//!   builds them once per client from the SDK's own parts (SDK, service, OS, language and an
//!   app name: the operator's `AWS_SDK_UA_APP_ID` if set, else `okta-relay`, which CloudTrail
//!   shows as the caller) and puts them on each request instead. What they no longer carry is
//!   the SDK's per-call list of the features a call used (`m/…`) and its HTTP client's name.
//! - **Stalled-stream protection.** It watches the throughput of each request and response
//!   body. These operations send and read small JSON bodies inside an attempt, and every
//!   attempt already has its timeout ([`AwsTimeouts`](super::AwsTimeouts)), so a stalled body
//!   ends there. The S3 clients, which stream objects, keep it.

use aws_config::SdkConfig;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_runtime::user_agent::{ApiMetadata, AwsUserAgent, UserAgentInterceptor};
use aws_sdk_eventbridge::config::interceptors::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
};
use aws_sdk_eventbridge::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::disable_interceptor;
use aws_types::app_name::AppName;
use aws_types::os_shim_internal::Env;
use reqwest::header::HeaderValue;

/// The app name in the user agent of these clients' calls, unless the SDK configuration names one.
const APP_NAME: &str = "okta-relay";

/// The DynamoDB client of the state table.
pub fn dynamodb(sdk: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(dynamodb_config(sdk).build())
}

/// [`dynamodb`]'s configuration, for a caller that sets more (the fault tests' endpoint).
pub fn dynamodb_config(sdk: &SdkConfig) -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::config::Builder::from(sdk)
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .interceptor(FixedUserAgent::new(
            "dynamodb",
            aws_sdk_dynamodb::meta::PKG_VERSION,
            sdk.app_name(),
        ))
}

/// The EventBridge client of the delivery bus.
pub fn eventbridge(sdk: &SdkConfig) -> aws_sdk_eventbridge::Client {
    aws_sdk_eventbridge::Client::from_conf(eventbridge_config(sdk).build())
}

/// [`eventbridge`]'s configuration, for a caller that sets more (the fault tests' endpoint).
pub fn eventbridge_config(sdk: &SdkConfig) -> aws_sdk_eventbridge::config::Builder {
    aws_sdk_eventbridge::config::Builder::from(sdk)
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .interceptor(FixedUserAgent::new(
            "eventbridge",
            aws_sdk_eventbridge::meta::PKG_VERSION,
            sdk.app_name(),
        ))
}

/// The Firehose client of the delivery streams.
pub fn firehose(sdk: &SdkConfig) -> aws_sdk_firehose::Client {
    aws_sdk_firehose::Client::from_conf(firehose_config(sdk).build())
}

/// [`firehose`]'s configuration, for a caller that sets more (the fault tests' endpoint).
pub fn firehose_config(sdk: &SdkConfig) -> aws_sdk_firehose::config::Builder {
    aws_sdk_firehose::config::Builder::from(sdk)
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .interceptor(FixedUserAgent::new(
            "firehose",
            aws_sdk_firehose::meta::PKG_VERSION,
            sdk.app_name(),
        ))
}

/// The SDK's user agent for one service, built once; it replaces the SDK's per-call one.
#[derive(Debug, Clone)]
pub struct FixedUserAgent {
    user_agent: HeaderValue,
    aws_user_agent: HeaderValue,
}

impl FixedUserAgent {
    /// The user agent the SDK would send for `service` at `version` from this environment
    /// (SDK, OS and language), with the app name `app` (the SDK configuration's), else
    /// `okta-relay`.
    pub fn new(service: &'static str, version: &'static str, app: Option<&AppName>) -> Self {
        let mut ua =
            AwsUserAgent::new_from_environment(Env::real(), ApiMetadata::new(service, version));
        if let Some(app) = app.cloned().or_else(|| AppName::new(APP_NAME).ok()) {
            ua.set_app_name(app);
        }
        // The SDK's own text, which is made of header-safe tokens; should that ever change,
        // the header is only the app name.
        let header = |text: String| {
            HeaderValue::try_from(text).unwrap_or_else(|_| HeaderValue::from_static(APP_NAME))
        };
        Self {
            user_agent: header(ua.ua_header()),
            aws_user_agent: header(ua.aws_ua_header()),
        }
    }
}

impl Intercept for FixedUserAgent {
    fn name(&self) -> &'static str {
        "FixedUserAgent"
    }

    /// Switches the SDK's user agent interceptor off for this call: it would add its own
    /// headers beside these.
    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state()
            .store_put(disable_interceptor::<UserAgentInterceptor>(
                "okta-relay sends a user agent built once per client",
            ));
        Ok(())
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let headers = context.request_mut().headers_mut();
        headers.insert("user-agent", self.user_agent.clone());
        headers.insert("x-amz-user-agent", self.aws_user_agent.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_config::{BehaviorVersion, Region};
    use aws_sdk_eventbridge::config::Credentials;
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    async fn server(answer: &str) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(answer, "application/x-amz-json-1.0"),
            )
            .mount(&server)
            .await;
        server
    }

    fn sdk(server: &MockServer) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(aws_sdk_eventbridge::config::SharedCredentialsProvider::new(
                Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI", None, None, "test"),
            ))
            .endpoint_url(server.uri())
            .build()
    }

    /// Every value of header `name` on the one request `server` received.
    async fn header_values(server: &MockServer, name: &str) -> Vec<String> {
        let received = server.received_requests().await.expect("recorded");
        assert_eq!(received.len(), 1);
        received[0]
            .headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().expect("ASCII").to_string())
            .collect()
    }

    /// One `User-Agent` and one `x-amz-user-agent`, each the SDK's for the service with the
    /// app name: the SDK's own interceptor is switched off, not run beside this one.
    async fn assert_one_user_agent(server: &MockServer, service: &str) {
        for name in ["user-agent", "x-amz-user-agent"] {
            let values = header_values(server, name).await;
            assert_eq!(values.len(), 1, "{name}: {values:?}");
            let value = &values[0];
            assert!(value.contains("aws-sdk-rust/"), "{name}: {value}");
            assert!(value.contains("app/okta-relay"), "{name}: {value}");
            if name == "x-amz-user-agent" {
                assert!(
                    value.contains(&format!("api/{service}/")),
                    "{name}: {value}"
                );
            }
        }
    }

    #[tokio::test]
    async fn eventbridge_calls_carry_one_user_agent_built_once() {
        let server = server(r#"{"FailedEntryCount":0,"Entries":[]}"#).await;
        let client = eventbridge(&sdk(&server));
        client
            .put_events()
            .entries(
                aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                    .detail("{}")
                    .build(),
            )
            .send()
            .await
            .expect("put");
        assert_one_user_agent(&server, "eventbridge").await;
    }

    #[tokio::test]
    async fn dynamodb_calls_carry_one_user_agent_built_once() {
        let server = server("{}").await;
        let client = dynamodb(&sdk(&server));
        client
            .get_item()
            .table_name("t")
            .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("k".into()))
            .send()
            .await
            .expect("get");
        assert_one_user_agent(&server, "dynamodb").await;
    }

    #[tokio::test]
    async fn firehose_calls_carry_one_user_agent_built_once() {
        let server = server(r#"{"FailedPutCount":0,"RequestResponses":[]}"#).await;
        let client = firehose(&sdk(&server));
        client
            .put_record_batch()
            .delivery_stream_name("s")
            .send()
            .await
            .expect("put");
        assert_one_user_agent(&server, "firehose").await;
    }

    /// The SDK's retry of a 500 carries the headers too, once each.
    #[tokio::test]
    async fn a_retried_call_carries_one_user_agent_on_every_attempt() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(500).set_body_raw(
                r#"{"__type":"InternalFailure","message":"try again"}"#,
                "application/x-amz-json-1.1",
            ))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(
                r#"{"FailedEntryCount":0,"Entries":[]}"#,
                "application/x-amz-json-1.1",
            ))
            .mount(&server)
            .await;
        let sdk = sdk(&server)
            .into_builder()
            .retry_config(
                aws_config::retry::RetryConfig::standard()
                    .with_max_attempts(2)
                    .with_initial_backoff(std::time::Duration::from_millis(1)),
            )
            .build();
        eventbridge(&sdk).put_events().send().await.expect("put");
        let received = server.received_requests().await.expect("recorded");
        assert_eq!(received.len(), 2, "the 500, then its retry");
        for request in &received {
            for name in ["user-agent", "x-amz-user-agent"] {
                let values: Vec<_> = request.headers.get_all(name).iter().collect();
                assert_eq!(values.len(), 1, "{name}: {values:?}");
            }
        }
    }

    /// An app name the operator set for the SDK (`AWS_SDK_UA_APP_ID`) is kept.
    #[tokio::test]
    async fn the_operators_app_name_is_kept() {
        let server = server(r#"{"FailedEntryCount":0,"Entries":[]}"#).await;
        let sdk = sdk(&server)
            .into_builder()
            .app_name(AppName::new("siem-team").expect("valid"))
            .build();
        eventbridge(&sdk).put_events().send().await.expect("put");
        for name in ["user-agent", "x-amz-user-agent"] {
            let values = header_values(&server, name).await;
            assert!(values[0].contains("app/siem-team"), "{name}: {values:?}");
            assert!(!values[0].contains("app/okta-relay"), "{name}: {values:?}");
        }
    }

    /// Records whether the SDK built its own user agent for a call.
    #[derive(Debug, Clone, Default)]
    struct Probe(std::sync::Arc<std::sync::atomic::AtomicBool>);

    impl Intercept for Probe {
        fn name(&self) -> &'static str {
            "Probe"
        }
        fn read_before_transmit(
            &self,
            _context: &aws_sdk_eventbridge::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
            _runtime_components: &RuntimeComponents,
            cfg: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            self.0.store(
                cfg.load::<AwsUserAgent>().is_some(),
                std::sync::atomic::Ordering::SeqCst,
            );
            Ok(())
        }
    }

    /// The saving itself: with [`FixedUserAgent`] the SDK does not build its user agent for
    /// the call; without it (the control, which shows the probe can tell) it does.
    #[tokio::test]
    async fn the_sdk_builds_no_user_agent_per_call() {
        for fixed in [true, false] {
            let server = server(r#"{"FailedEntryCount":0,"Entries":[]}"#).await;
            let probe = Probe::default();
            let mut config = aws_sdk_eventbridge::config::Builder::from(&sdk(&server));
            if fixed {
                config = config.interceptor(FixedUserAgent::new(
                    "eventbridge",
                    aws_sdk_eventbridge::meta::PKG_VERSION,
                    None,
                ));
            }
            let client =
                aws_sdk_eventbridge::Client::from_conf(config.interceptor(probe.clone()).build());
            client.put_events().send().await.expect("put");
            let built = probe.0.load(std::sync::atomic::Ordering::SeqCst);
            assert_eq!(built, !fixed, "fixed user agent: {fixed}");
        }
    }
}
