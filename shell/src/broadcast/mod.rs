//! Broadcast node logic (sans-IO): challenges 3a-3e.
