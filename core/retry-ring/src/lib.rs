#![no_std]
//! glomers core crate: retry-ring.
