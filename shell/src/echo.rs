//! Challenge 1 (echo): answers every `echo` with `echo_ok` carrying the same value.

use glomers_node::{Incoming, Machine, Outbox, Time};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Requests the echo node accepts.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EchoIn {
    /// Echo `echo` back.
    Echo {
        /// Any JSON value.
        echo: Value,
    },
}

/// Replies the echo node sends.
#[derive(Debug, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EchoOut {
    /// The value of the request, unchanged.
    EchoOk {
        /// The value received.
        echo: Value,
    },
}

/// The echo node: stateless.
#[derive(Debug, Default)]
pub struct Echo;

impl Machine for Echo {
    type In = EchoIn;
    type Out = EchoOut;

    /// Adds one reply.
    fn on_message(&mut self, _now: Time, msg: Incoming<EchoIn>, out: &mut Outbox<EchoOut>) {
        let EchoIn::Echo { echo } = msg.body;
        out.reply(&msg.origin, EchoOut::EchoOk { echo });
    }
}
