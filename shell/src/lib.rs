//! glomers shell: the Maelstrom protocol, the node runtime and the challenge binaries.
