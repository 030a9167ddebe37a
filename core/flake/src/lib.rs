#![no_std]
//! glomers core crate: flake.
