#![no_std]
//! glomers core crate: offset-log.
