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

pub mod layout;
pub mod mirror;
pub mod picture;
pub mod render;
pub mod scene;
pub mod shapes;
pub mod text;
pub mod texts;

pub use layout::{Rotation, Size};
pub use picture::Picture;
pub use render::Renderer;
pub use scene::{Arrow, Outcome, Scene, Setup, View, WatchEvent};
pub use text::{DEFAULT_FONT, FONT_PACKAGE, Font, FontError};
pub use texts::{TextError, Texts};
