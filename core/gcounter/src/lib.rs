#![no_std]
//! glomers core crate: gcounter.
