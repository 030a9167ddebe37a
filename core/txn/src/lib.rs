#![no_std]
//! glomers core crate: txn.
