//! [`Sinks`] on AWS: the delivery bus, and a Firehose stream by name. Adding a sink is a
//! variant of [`SinkChoice`], its adapter, and a line here.

use super::{EventBridgeSink, FirehoseSink};
use crate::ports::{EventSink, SinkChoice, Sinks};
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
