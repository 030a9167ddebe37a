//! Kafka-style log node logic (sans-IO): challenges 5a-5c.
