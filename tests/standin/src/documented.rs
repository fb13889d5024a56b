//! The IDMeta API as its reference documents it: v1's three paths, the
//! request bodies' fields, the image's data URI, the documented 200 answer
//! and the seven face-quality messages; v3's registration (biometrics-detection)
//! with its example request and answer. Written from the API reference, not
//! taken from the client, so the stand-in checks the client against the
//! documentation rather than against itself.

/// `POST`: register a face.
pub const REGISTRATION_PATH: &str = "/api/v1/verification/biometricsregistration";
/// `POST`: create the verification a registration refers to.
pub const CREATE_VERIFICATION_PATH: &str = "/api/v1/verification/create-verification";
/// `POST`: finalize that verification.
pub const FINALIZE_VERIFICATION_PATH: &str = "/api/v1/verification/finalize-verification";

/// The fields of each request body, all required strings, sorted.
pub const REGISTRATION_FIELDS: [&str; 4] = ["image", "template_id", "username", "verification_id"];
/// `metadata` is optional and the client sends none, so it is refused here.
pub const CREATE_VERIFICATION_FIELDS: [&str; 1] = ["template_id"];
pub const FINALIZE_VERIFICATION_FIELDS: [&str; 2] = ["template_id", "verification_id"];

/// How `image` starts: a base64 data URI of a JPEG.
pub const JPEG_DATA_URI_PREFIX: &str = "data:image/jpeg;base64,";

/// The documented 200 answer of a registration, verbatim.
pub const REGISTRATION_OK: &str = r#"{
  "status": true,
  "message": "OK",
  "result": {
    "status": "success",
    "message": "Biometrics registration successful.",
    "result": {
      "associatedVerificationId": "1234567890abcdef",
      "faceId": "face_abc123xyz",
      "imageUrl": "https://example.com/faces/face_abc123xyz.jpg",
      "timestamp": "2025-07-30T09:15:00Z"
    }
  },
  "apiRequest": {
    "id": 101, "user_id": 5, "company_id": 2, "template_id": 129,
    "verification_id": "1234567890abcdef", "plan": "biometrics_registration",
    "date": "2025-07-30T09:15:00Z", "requestdata": "{...}", "requestresult": "{...}",
    "time_to_verify": 2.1534, "api_request_status": "SUCCESS",
    "blacklist_request_id": null, "key": "breg_20250730_101_xyz"
  }
}"#;

/// `POST`: v3's registration, with watchlist screening ("biometrics detection").
pub const REGISTRATION_V3_PATH: &str = "/api/v3/verifications/biometrics-detection";

/// v3's documented example request, verbatim: what a client sends (camelCase; `trustFlowId` an
/// integer; `trustValidationId` the id of the verification created beforehand).
pub const REGISTRATION_V3_EXAMPLE: &str = r#"{
  "image": "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQAAAQABAAD...",
  "trustFlowId": 0,
  "trustValidationId": "{your_trust_validation_id}"
}"#;

/// The field list of the same page, which still names `username` (required) although the
/// example above leaves it out: the page is partly stale. The stand-in's `stale-docs`
/// behaviour insists on it.
pub const REGISTRATION_V3_LISTED_FIELDS: [&str; 4] =
    ["image", "trustFlowId", "trustValidationId", "username"];

/// v3's documented 200 answer, verbatim: registered, and the watchlist screening matched.
pub const REGISTRATION_V3_OK: &str = r#"{
  "success": true,
  "message": "Biometrics detection processed successfully",
  "data": {
    "enroll": {
      "companyId": 4, "enrolledAt": "2026-05-28T20:41:29.029854+08:00", "imageType": 0,
      "name": null, "recordId": 1, "referenceId": "455bc762-7b72-490f-8d6d-65ed0d9317f0",
      "status": 1, "watchlistId": 0
    },
    "screen": {
      "checkedWatchlists": [0], "imageType": 0, "status": 1,
      "watchlists": [
        { "hasMatches": true, "watchlistId": 0,
          "matches": [ { "enrolledAt": "2026-05-28T20:38:23.845620+08:00", "imageType": 0,
                         "name": null, "recordId": 1,
                         "referenceId": "455bc762-7b72-490f-8d6d-65ed0d9317f0",
                         "similarityScore": 99 } ] }
      ]
    }
  },
  "verificationStatus": "REVIEW_NEEDED",
  "verificationStatusCode": 2,
  "trustFlowId": 0,
  "trustValidationId": "{your_trust_validation_id}",
  "verificationType": "biometrics_registration",
  "metadata": null
}"#;

/// The trust validation statuses (`verificationStatusCode`, `verificationStatus`). The page
/// gives the codes' meanings; only `REVIEW_NEEDED` appears as a string, the others are written
/// the same way.
pub const VERIFICATION_STATUS: [(u8, &str); 5] = [
    (1, "REJECTED"),
    (2, "REVIEW_NEEDED"),
    (3, "VERIFIED"),
    (4, "INCOMPLETE"),
    (5, "IN_PROGRESS"),
];

/// One of the documented face-quality answers: the face was not usable,
/// take another picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaceQuality {
    /// Its name where the stand-in takes one (`--behaviour retake:NAME`).
    pub code: &'static str,
    /// The message, as documented.
    pub message: &'static str,
}

/// The seven face-quality answers a registration may give.
pub const FACE_QUALITY: [FaceQuality; 7] = [
    FaceQuality {
        code: "no_face",
        message: "No face detected in the image. Please ensure face is clearly visible.",
    },
    FaceQuality {
        code: "face_too_small",
        message: "Face is too small. Please move face closer to the camera.",
    },
    FaceQuality {
        code: "multiple_faces",
        message: "Multiple faces detected in the image. Please ensure only one face is visible.",
    },
    FaceQuality {
        code: "face_obscured",
        message: "Face is partially hidden or obscured. Please ensure full face is clearly visible.",
    },
    FaceQuality {
        code: "face_cropped",
        message: "Face is cropped. Please ensure full face is in frame.",
    },
    FaceQuality {
        code: "face_angle",
        message: "Face angle is too large. Please ensure face is clearly visible.",
    },
    FaceQuality {
        code: "face_near_border",
        message: "Face is too close to the border. Please ensure face is clearly visible.",
    },
];
