//! The sinks an org can choose, one file each ([`eventbridge`], [`firehose`]), and [`Sinks`]
//! on AWS: the delivery bus, and a Firehose stream by name. Adding a sink is a variant of
//! [`SinkChoice`], its file here, and its arm below (`ARCHITECTURE.md`, "How to add a sink").

pub mod eventbridge;
pub mod firehose;
mod json_string;
pub mod put_events_body;

use crate::ports::{EventSink, SinkChoice, Sinks};
pub use eventbridge::EventBridgeSink;
pub use firehose::FirehoseSink;
use std::sync::Arc;

/// The deployment's sinks, on shared clients.
#[derive(Clone)]
pub struct AwsSinks {
    pub bus: Arc<EventBridgeSink>,
    pub firehose: aws_sdk_firehose::Client,
}

impl Sinks for AwsSinks {
    fn sink(&self, org: &str, choice: &SinkChoice) -> Arc<dyn EventSink> {
        match choice {
            SinkChoice::EventBus => self.bus.clone(),
            SinkChoice::Firehose { stream } => {
                Arc::new(FirehoseSink::new(self.firehose.clone(), stream, org))
            }
        }
    }
}
