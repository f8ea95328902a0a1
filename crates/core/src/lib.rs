//! The widget's logic, with no IO: it runs natively under `cargo test` and,
//! unchanged, inside the browser widget.
//!
//! Nothing here touches the network, the DOM or the clock; the shells
//! (the widget in `src/`, the dev server) perform IO and feed results in.

pub mod api;
