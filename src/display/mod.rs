//! Showing the person's screen: a thread that renders the latest scene (`screen`) and shows it
//! on a panel through DRM/KMS, or writes it to a PNG file (the demo). No network port, no
//! display server: the pictures never leave the process except onto the panel.
//!
//! A terminal without a panel, or whose panel a desktop holds, runs as before with the LED:
//! the thread says once (journal and status file) why there is no screen and looks again every
//! few seconds, so a panel plugged in later or released by the desktop is picked up.
//!
//! | file | job |
//! |---|---|
//! | `config.rs` | `[display]` |
//! | `output.rs` | the outputs' interface, and why there is no screen (in words) |
//! | `drm.rs` | a panel through DRM/KMS: connector, preferred mode, two dumb buffers, page flips, DPMS |
//! | `holder.rs` | who holds a DRM device, from `/proc` |
//! | `png_file.rs` | the screen as a PNG file (the demo) |
//! | `shown.rs` | the display thread's handle; the font and the prompts' letters checked at start |
//! | `worker.rs` | the display thread: latest scene, render, show, reconnect, blank when idle |

//!
//! Everything but `config.rs` is in builds with the `screen` feature only (the board packages
//! and the demo); the static build refuses `display.enabled = true` at start.

pub mod config;
#[cfg(feature = "screen")]
pub mod drm;
#[cfg(feature = "screen")]
pub mod holder;
#[cfg(feature = "screen")]
pub mod output;
#[cfg(feature = "screen")]
pub mod png_file;
#[cfg(feature = "screen")]
pub mod worker;

pub use config::DisplayConfig;

#[cfg(feature = "screen")]
mod shown;
#[cfg(feature = "screen")]
pub use shown::*;

/// Without the `screen` feature nothing is set up, so nothing can go wrong
/// (`display.enabled = true` is refused by the configuration).
#[cfg(not(feature = "screen"))]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisplayError {}
