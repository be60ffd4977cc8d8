//! Live capture from an interface through libpcap.
