//! One checker per workload. Each takes a [`History`](crate::history::History) and returns
//! a [`CheckResult`](crate::checker::CheckResult).
pub mod txn;
