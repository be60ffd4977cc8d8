//! synack: shows and judges TCP three-way handshakes in packet captures and on
//! live interfaces.
//!
//! Data flows one way: [`source`] (files, interfaces, BPF) → [`wire`] (zero-copy
//! header views) → [`print`] (tcpdump lines) or [`track`] (connection attempts) →
//! [`report`] (tables, JSON Lines, CSV, explanations, diagrams).

pub mod app;
pub mod cli;
pub mod explain;
pub mod handshakes;
pub mod input;
pub mod pipeline;
pub mod print;
pub mod privileges;
pub mod records;
pub mod report;
pub mod savefile;
pub mod source;
pub mod track;
pub mod wire;
