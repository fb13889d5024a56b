//! What both versions decide alike, and the interface itself: bodies, paths, `api.version`.

use super::*;

fn answer(status: u16, body: &str) -> Answer {
    Answer::complete(status, body)
}

/// What both versions decide the same way, before a body is read.
#[test]
fn statuses_and_broken_bodies_decide_alike_in_both_versions() {
    let v1_sent = Sent {
        verification_id: "v",
        template_id: "129",
    };
    for version in [ApiVersion::V1, ApiVersion::V3] {
        let classify = |a: &Answer| version.classify(a, &v1_sent);
        assert_eq!(
            classify(&answer(401, "{}")),
            Outcome::Unauthorized { status: 401 }
        );
        assert_eq!(
            classify(&answer(404, "<html>")),
            Outcome::WrongEndpoint { status: 404 }
        );
        assert_eq!(classify(&answer(502, "")).code(), "server_error");
        let cut = Answer {
            status: 200,
            retry_after: None,
            body: Body::Broken {
                reason: "connection reset".into(),
            },
        };
        assert_eq!(classify(&cut).code(), "unknown_delivery", "{version}");
        let over = Answer {
            status: 200,
            retry_after: None,
            body: Body::OverCap { cap: 10 },
        };
        assert_eq!(classify(&over).code(), "bad_response", "{version}");
        let four = Answer {
            status: 400,
            retry_after: None,
            body: Body::OverCap { cap: 10 },
        };
        assert_eq!(
            classify(&four),
            Outcome::Rejected {
                status: 400,
                message: "HTTP 400".into()
            },
            "{version}"
        );
        for body in ["", "<html>portal</html>", "[1]", r#"{"success":tr"#] {
            assert_eq!(
                classify(&answer(200, body)).code(),
                "bad_response",
                "{version} {body}"
            );
        }
    }
}

#[test]
fn each_version_writes_its_documented_body() {
    let sent = Sent {
        verification_id: "v-1",
        template_id: " 129 ",
    };
    let v3 = ApiVersion::V3
        .registration_body(&[0xff, 0xd8], "Ann", &sent)
        .unwrap();
    assert_eq!(
        String::from_utf8(v3).unwrap(),
        r#"{"image":"data:image/jpeg;base64,/9g=","trustFlowId":129,"trustValidationId":"v-1"}"#
    );
    let v1 = ApiVersion::V1
        .registration_body(&[0xff, 0xd8], "Ann", &sent)
        .unwrap();
    assert_eq!(
        String::from_utf8(v1).unwrap(),
        r#"{"image":"data:image/jpeg;base64,/9g=","username":"Ann","template_id":" 129 ","verification_id":"v-1"}"#
    );
    let words = Sent {
        verification_id: "v",
        template_id: "flow-a",
    };
    let e = ApiVersion::V3
        .registration_body(&[1], "Ann", &words)
        .unwrap_err();
    assert!(e.contains("`flow-a` is not a whole number"), "{e}");
    assert_eq!(
        ApiVersion::V1.registration_path(),
        "/api/v1/verification/biometricsregistration"
    );
    assert_eq!(
        ApiVersion::V3.registration_path(),
        "/api/v3/verifications/biometrics-detection"
    );
}

#[test]
fn api_version_reads_1_or_3_and_refuses_anything_else_naming_both() {
    #[derive(serde::Deserialize)]
    struct Api {
        version: ApiVersion,
    }
    let read = |text: &str| toml::from_str::<Api>(text).map(|a| a.version);
    assert_eq!(read("version = 1").unwrap(), ApiVersion::V1);
    assert_eq!(read("version = 3").unwrap(), ApiVersion::V3);
    for bad in ["version = 2", "version = 0", "version = -3"] {
        let e = read(bad).err().unwrap().to_string();
        assert!(
            e.contains("must be 1 (IDMeta's v1 biometricsregistration) or 3"),
            "{e}"
        );
    }
    assert!(read("version = \"3\"").is_err());
    assert_eq!(ApiVersion::default(), ApiVersion::V1);
}
