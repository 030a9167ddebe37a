//! Totally-available transaction node logic (sans-IO): challenges 6a-6c.
