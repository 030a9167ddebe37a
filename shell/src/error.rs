//! Maelstrom error codes and the error reply body: the node contract's
//! ([`glomers_node::ErrorCode`], [`glomers_node::ErrorBody`]).

pub(crate) use glomers_node::TaggedError;
pub use glomers_node::{ErrorBody, ErrorCode};
