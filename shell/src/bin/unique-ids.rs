//! Challenge 2 (unique ids): every id is minted locally by the core flake generator (logical
//! milliseconds, node index, per-millisecond sequence), so the node sends no server message
//! and stays available under partitions. See `glomers_shell::unique`.

use std::time::{SystemTime, UNIX_EPOCH};

use glomers_flake::{Flake, NodeIndex};
use glomers_shell::machine;
use glomers_shell::unique::{node_index, UniqueIds, MAX_LEAD_MS};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    glomers_shell::logging::init();
    machine::run(|info, now_ms| {
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        // The driver's clock reads `now_ms` at this instant; ids use wall-clock time.
        let epoch_ms = unix_ms.saturating_sub(now_ms);
        let index = node_index(&info.id, &info.ids).unwrap_or_else(|e| {
            // Only for an init whose ids are neither `nN` names nor contain this node: ids
            // may then collide with the node of index 0. Keep serving, loudly.
            tracing::error!(error = %e, "no node index; using 0");
            NodeIndex::MIN
        });
        UniqueIds::new(Flake::with_max_lead(index, MAX_LEAD_MS), epoch_ms)
    })
    .await;
}
