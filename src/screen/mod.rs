//! The person's screen: what it shows and its pixels, with no device behind it.
//!
//! The daemon derives a [`Scene`] (a plain value) from the same events that drive the LED and
//! the status file; [`Renderer::render`] turns a scene and the latest camera frame into the
//! panel's pixels, in software, the same pixels every time (tests compare them with reference
//! pictures; a QEMU screendump is compared with the host's rendering). Showing the pixels is
//! `display`'s job.
//!
//! | file | job |
//! |---|---|
//! | `scene.rs` | the scene and its parts; the `enrolld watch` line made from it |
//! | `layout.rs` | every size and position, from the panel's size and rotation |
//! | `texts.rs` | the words of each prompt: the site's, else the English default |
//! | `text.rs` | the font (from a Debian package, by path), glyphs, wrapping with an ellipsis |
//! | `mirror.rs` | a camera frame (YUYV, NV12, RGB24, MJPEG) scaled, mirrored, into an area |
//! | `shapes.rs` | the drawn parts (guide, arrow, countdown, icons, boxes) and the palette |
//! | `render.rs` | a scene and a frame to a picture: the chrome layer over the camera picture |
//! | `picture.rs` | the output: XRGB8888 in the panel's orientation; PNG |

//!
//! The pixels (every file but `scene`, `layout` and `texts`) are in builds with the `screen`
//! feature only: the static build leaves them out for its size budget, and refuses
//! `display.enabled = true`.

pub mod layout;
#[cfg(feature = "screen")]
pub mod mirror;
#[cfg(feature = "screen")]
pub mod picture;
#[cfg(feature = "screen")]
pub mod render;
pub mod scene;
#[cfg(feature = "screen")]
pub mod shapes;
#[cfg(feature = "screen")]
pub mod text;
pub mod texts;

pub use layout::{Rotation, Size};
#[cfg(feature = "screen")]
pub use picture::Picture;
#[cfg(feature = "screen")]
pub use render::Renderer;
pub use scene::{Arrow, Outcome, Scene, Setup, View, WatchEvent};
#[cfg(feature = "screen")]
pub use text::{Font, FontError};
pub use texts::{TextError, Texts};

/// The font the screen uses unless `display.font` names another.
pub const DEFAULT_FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf";
/// The Debian package that installs [`DEFAULT_FONT`] (a dependency of enrolld's package).
pub const FONT_PACKAGE: &str = "fonts-dejavu-core";
