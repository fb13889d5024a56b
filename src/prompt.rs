//! What the terminal tells the person in front of it, one prompt at a time: the screen's line,
//! the spoken recording and the `watch` event all name a prompt by the same stable key.
//!
//! A leaf, like `led`: the face check's reasons and the terminal's states map to a key here, and
//! every output (screen, voice, `enrolld watch`) takes the key from the same event, so no output
//! chooses its own words. The texts below are the English defaults; a site overrides any of them
//! in `[display.prompts]` (the screen) or by replacing the recording `<key>.wav` (the voice).

use crate::face::Refusal;

/// One thing the terminal can ask of or tell the person. Keys are stable: a site's translated
/// texts and recordings are named by them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PromptKey {
    /// Idle with a button: what to do to start.
    PressButton,
    /// Idle with a presence sensor: what to do to start.
    StepUp,
    /// No face in the picture.
    LookAtScreen,
    /// More than one face.
    OnePerson,
    /// The face is too small.
    StepCloser,
    /// The face is too large.
    StepBack,
    /// The face is off centre or cut by the border.
    MoveIntoGuide,
    /// The eye line is tilted.
    HeadStraight,
    /// The head is turned away.
    LookAtCamera,
    /// Blurred, or the capture is waiting for the face to stay put.
    HoldStill,
    /// The face is too dark (also a hint for the installer).
    TooDark,
    /// The face is too bright (also a hint for the installer).
    TooBright,
    /// The camera's picture could not be read.
    CameraProblem,
    /// The capture is on its way to IDMeta.
    Sending,
    /// Registered (or already registered).
    Registered,
    /// Registered, and the operator wants the person sent to reception.
    SeeReception,
    /// Refused by IDMeta or no usable frame within the attempt's time: try again.
    TryAgain,
    /// Stored on the terminal, sent later.
    Queued,
    /// A press that cannot be served now (nobody to enroll).
    NotNow,
    /// The terminal cannot enroll (a fault, or deliveries paused).
    OutOfOrder,
}

impl PromptKey {
    pub const ALL: [PromptKey; 20] = [
        PromptKey::PressButton,
        PromptKey::StepUp,
        PromptKey::LookAtScreen,
        PromptKey::OnePerson,
        PromptKey::StepCloser,
        PromptKey::StepBack,
        PromptKey::MoveIntoGuide,
        PromptKey::HeadStraight,
        PromptKey::LookAtCamera,
        PromptKey::HoldStill,
        PromptKey::TooDark,
        PromptKey::TooBright,
        PromptKey::CameraProblem,
        PromptKey::Sending,
        PromptKey::Registered,
        PromptKey::SeeReception,
        PromptKey::TryAgain,
        PromptKey::Queued,
        PromptKey::NotNow,
        PromptKey::OutOfOrder,
    ];

    /// The stable key: config (`[display.prompts]`), recordings (`<key>.wav`), `watch` events.
    pub fn key(self) -> &'static str {
        match self {
            PromptKey::PressButton => "press_button",
            PromptKey::StepUp => "step_up",
            PromptKey::LookAtScreen => "look_at_screen",
            PromptKey::OnePerson => "one_person",
            PromptKey::StepCloser => "step_closer",
            PromptKey::StepBack => "step_back",
            PromptKey::MoveIntoGuide => "move_into_guide",
            PromptKey::HeadStraight => "head_straight",
            PromptKey::LookAtCamera => "look_at_camera",
            PromptKey::HoldStill => "hold_still",
            PromptKey::TooDark => "too_dark",
            PromptKey::TooBright => "too_bright",
            PromptKey::CameraProblem => "camera_problem",
            PromptKey::Sending => "sending",
            PromptKey::Registered => "registered",
            PromptKey::SeeReception => "see_reception",
            PromptKey::TryAgain => "try_again",
            PromptKey::Queued => "queued",
            PromptKey::NotNow => "not_now",
            PromptKey::OutOfOrder => "out_of_order",
        }
    }

    /// The English words shown and spoken unless the site configured its own.
    pub fn default_text(self) -> &'static str {
        match self {
            PromptKey::PressButton => "Press the button to enroll",
            PromptKey::StepUp => "Step up to the screen to enroll",
            PromptKey::LookAtScreen => "Look at the screen",
            PromptKey::OnePerson => "One person at a time, please",
            PromptKey::StepCloser => "Step closer",
            PromptKey::StepBack => "Step back a little",
            PromptKey::MoveIntoGuide => "Move into the oval",
            PromptKey::HeadStraight => "Keep your head straight",
            PromptKey::LookAtCamera => "Look straight at the camera",
            PromptKey::HoldStill => "Hold still",
            PromptKey::TooDark => "Too dark: face the light",
            PromptKey::TooBright => "Too bright: step out of the glare",
            PromptKey::CameraProblem => "The camera picture is unclear, please wait",
            PromptKey::Sending => "Sending, please wait",
            PromptKey::Registered => "You are enrolled",
            PromptKey::SeeReception => "You are enrolled. Please see reception",
            PromptKey::TryAgain => "That did not work. Please try again",
            PromptKey::Queued => "Saved. It will be sent shortly",
            PromptKey::NotNow => "Not ready for you yet. Please ask at reception",
            PromptKey::OutOfOrder => "Out of order. Please ask at reception",
        }
    }

    pub fn from_key(key: &str) -> Option<PromptKey> {
        PromptKey::ALL.into_iter().find(|p| p.key() == key)
    }

    /// The one thing to ask of the person when the face check refused a frame.
    pub fn for_refusal(refusal: Refusal) -> PromptKey {
        match refusal {
            Refusal::NoFace => PromptKey::LookAtScreen,
            Refusal::SeveralFaces => PromptKey::OnePerson,
            Refusal::TooFar | Refusal::CropFailed => PromptKey::StepCloser,
            Refusal::TooClose => PromptKey::StepBack,
            Refusal::OffCentre | Refusal::CutOff => PromptKey::MoveIntoGuide,
            Refusal::Tilted => PromptKey::HeadStraight,
            Refusal::Turned => PromptKey::LookAtCamera,
            Refusal::FaceBlurred => PromptKey::HoldStill,
            Refusal::FaceDark => PromptKey::TooDark,
            Refusal::FaceBright => PromptKey::TooBright,
            Refusal::Unreadable => PromptKey::CameraProblem,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_round_trip() {
        let mut keys: Vec<_> = PromptKey::ALL.iter().map(|p| p.key()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), PromptKey::ALL.len());
        for p in PromptKey::ALL {
            assert_eq!(PromptKey::from_key(p.key()), Some(p));
        }
    }

    #[test]
    fn every_refusal_has_a_prompt_and_every_default_text_is_short() {
        for r in Refusal::ALL {
            let _ = PromptKey::for_refusal(r);
        }
        for p in PromptKey::ALL {
            assert!(
                p.default_text().len() <= 48,
                "{} is too long for a panel",
                p.key()
            );
        }
    }
}
