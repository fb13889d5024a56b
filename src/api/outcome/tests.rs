//! The outcome types' own rules: stable codes, one exit status per failure class, the
//! face-quality messages. Each version's answers are tested with its classification
//! (`registration/v1/tests.rs`, `registration/v3/tests.rs`).

use super::*;

#[test]
fn face_quality_messages_are_recognised_with_case_and_punctuation_drift() {
    for q in FaceQuality::ALL {
        assert_eq!(FaceQuality::from_message(q.message()), Some(q));
        let shouty = q.message().to_uppercase().replace('.', "!");
        assert_eq!(FaceQuality::from_message(&shouty), Some(q), "{shouty}");
        let first = q.message().split('.').next().unwrap();
        assert_eq!(FaceQuality::from_message(first), Some(q), "{first}");
    }
    assert_eq!(FaceQuality::from_message("Face is fine."), None);
}

#[test]
fn codes_exit_statuses_and_resend_rules() {
    let all = Outcome::one_of_each();
    let mut exits: Vec<i32> = all.iter().map(Outcome::exit_code).collect();
    assert_eq!(&exits[..3], &[0, 0, 0]);
    exits.dedup();
    assert_eq!(
        exits.len(),
        all.len() - 2,
        "one exit status per failure class"
    );
    for o in &all {
        let json = serde_json::to_value(o).unwrap();
        assert_eq!(json["code"], o.code());
        assert_eq!(o.is_success(), o.exit_code() == 0);
    }
    let retake = serde_json::to_value(&all[3]).unwrap();
    assert_eq!(retake["quality"], "no_face");
}
