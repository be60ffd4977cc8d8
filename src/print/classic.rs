//! The classic tcpdump 3.x line format (`--classic`).
