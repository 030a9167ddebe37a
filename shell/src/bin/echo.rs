//! Challenge 1 (echo): answers every `echo` with `echo_ok` carrying the same value.
//!
//! Written in the handler style: the reply is the handler's return value, so it is always
//! addressed to the request's sender with the right `in_reply_to`.

use glomers_shell::node::{self, Answer, Handler, Node};
use glomers_shell::protocol::Incoming;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Requests the echo node accepts.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Request {
    /// Echo `echo` back.
    Echo { echo: Value },
}

/// Replies the echo node sends.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Response {
    /// The value of the request, unchanged.
    EchoOk { echo: Value },
}

/// The echo node: stateless.
struct Echo;

impl Handler for Echo {
    type Request = Request;
    type Response = Response;

    async fn handle(&self, _node: &Node, msg: Incoming<Request>) -> Answer<Response> {
        match msg.body {
            Request::Echo { echo } => Ok(Some(Response::EchoOk { echo })),
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    glomers_shell::logging::init();
    node::serve(|_node| Echo).await;
}
