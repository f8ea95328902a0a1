//! One upload session without IO: the scan's results in, the review, the
//! Aura API lifecycle, the preparation of each study's archive and its tus
//! transfer, progress and time left, the outcome. The widget and the CLI
//! drive it and only perform what it asks.

pub mod published;
pub mod state;
