//! Why a frame does not show one well-placed face: one named reason per rule, as the status
//! file counts them (`face.refused.<name>`), the journal carries them (`ENROLLD_FACE_REASON`)
//! and the person at the wall is told (a retake).

use std::fmt;

/// Why a frame was refused. Names are stable: scripts and dashboards use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Refusal {
    /// No detection above `face.min_score`.
    NoFace,
    /// A second detection above `face.second_face_score`.
    SeveralFaces,
    /// The face is narrower than `face.min_width` of the frame.
    TooFar,
    /// The face is wider than `face.max_width` of the frame.
    TooClose,
    /// The face's centre is within `face.margin` of an edge.
    OffCentre,
    /// The face's box reaches past the frame's border.
    CutOff,
    /// The eye line is tilted more than `face.max_tilt_deg`.
    Tilted,
    /// The nose is too far from between the eyes: the head is turned.
    Turned,
    /// The face is not sharp enough (`face.min_sharpness`).
    FaceBlurred,
    /// The face is too dark (`face.min_luma`).
    FaceDark,
    /// The face is too bright (`face.max_luma`).
    FaceBright,
    /// The frame could not be read for the check (damaged camera data).
    Unreadable,
    /// `face.crop` is on and the face's crop cannot be made (less than 2x2 pixels): the frame
    /// is refused rather than sent whole.
    CropFailed,
}

impl Refusal {
    pub const ALL: [Refusal; 13] = [
        Refusal::NoFace,
        Refusal::SeveralFaces,
        Refusal::TooFar,
        Refusal::TooClose,
        Refusal::OffCentre,
        Refusal::CutOff,
        Refusal::Tilted,
        Refusal::Turned,
        Refusal::FaceBlurred,
        Refusal::FaceDark,
        Refusal::FaceBright,
        Refusal::Unreadable,
        Refusal::CropFailed,
    ];

    /// The stable name (status file, journal, MQTT events).
    pub fn name(self) -> &'static str {
        match self {
            Refusal::NoFace => "no_face",
            Refusal::SeveralFaces => "several_faces",
            Refusal::TooFar => "too_far",
            Refusal::TooClose => "too_close",
            Refusal::OffCentre => "off_centre",
            Refusal::CutOff => "cut_off",
            Refusal::Tilted => "tilted",
            Refusal::Turned => "turned",
            Refusal::FaceBlurred => "face_blurred",
            Refusal::FaceDark => "face_dark",
            Refusal::FaceBright => "face_bright",
            Refusal::Unreadable => "unreadable",
            Refusal::CropFailed => "crop_failed",
        }
    }

    /// What the person should do, in words (logs, `enrolld face-check`).
    pub fn advice(self) -> &'static str {
        match self {
            Refusal::NoFace => "no face found: stand in front of the camera, facing it",
            Refusal::SeveralFaces => "more than one face: one person at a time",
            Refusal::TooFar => "face too small: step closer",
            Refusal::TooClose => "face too large: step back",
            Refusal::OffCentre => "face not centred: move to the middle of the picture",
            Refusal::CutOff => "face cut by the picture's edge: move to the middle",
            Refusal::Tilted => "head tilted: hold it upright",
            Refusal::Turned => "head turned: look straight at the camera",
            Refusal::FaceBlurred => "face blurred: hold still",
            Refusal::FaceDark => "face too dark: more light on the face",
            Refusal::FaceBright => "face too bright: less light on the face",
            Refusal::Unreadable => "the camera's picture could not be read",
            Refusal::CropFailed => "the face cannot be cut out of the picture: step closer",
        }
    }

    pub fn from_name(name: &str) -> Option<Refusal> {
        Refusal::ALL.into_iter().find(|r| r.name() == name)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.advice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        let mut names: Vec<_> = Refusal::ALL.iter().map(|r| r.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Refusal::ALL.len());
        for r in Refusal::ALL {
            assert_eq!(Refusal::from_name(r.name()), Some(r));
        }
    }
}
