//! Shared by the API integration tests: a stand-in with strict expectations,
//! a client that trusts it through `api.ca_file`, and a real JPEG.
#![allow(dead_code)] // each test crate uses a different part

use std::path::PathBuf;

use enrolld::api::Client;
use enrolld::config::ApiConfig;
use enrolld::secret::ApiToken;
use enrolld::standin::{Behaviour, Expectations, StandIn, StandInOptions};

pub const TOKEN: &str = "42|t0ken-Secret-xyz";
pub const TEMPLATE_ID: &str = "129";

/// A stand-in plus a temp dir holding its CA.
pub struct Env {
    pub server: StandIn,
    pub dir: tempfile::TempDir,
    pub ca_path: PathBuf,
}

impl Env {
    pub fn start(behaviour: Behaviour) -> Env {
        Env::start_with_names(behaviour, None)
    }

    /// `names`: the certificate's names instead of localhost/127.0.0.1.
    pub fn start_with_names(behaviour: Behaviour, names: Option<Vec<String>>) -> Env {
        Env::start_with(behaviour, names, false)
    }

    /// A stand-in speaking plain HTTP, for `http://` loopback base URLs.
    pub fn start_plain(behaviour: Behaviour) -> Env {
        Env::start_with(behaviour, None, true)
    }

    fn start_with(behaviour: Behaviour, names: Option<Vec<String>>, plain_http: bool) -> Env {
        let mut options = StandInOptions {
            plain_http,
            behaviour,
            expect: Expectations {
                token: Some(TOKEN.to_owned()),
                template_id: Some(TEMPLATE_ID.to_owned()),
            },
            ..StandInOptions::default()
        };
        if let Some(names) = names {
            options.cert_names = names;
        }
        let server = StandIn::start_with(options).expect("stand-in starts");
        let dir = tempfile::tempdir().unwrap();
        let ca_path = dir.path().join("standin-ca.pem");
        std::fs::write(&ca_path, server.ca_pem()).unwrap();
        Env {
            server,
            dir,
            ca_path,
        }
    }

    /// `[api]` for this stand-in, short timeouts so failure cases are quick.
    pub fn api_config(&self) -> ApiConfig {
        api_config(&self.server.url(), &self.ca_path)
    }

    pub fn client(&self) -> Client {
        client_for(&self.api_config(), TOKEN)
    }
}

/// `[api]` for a stand-in at `url` whose CA is in `ca_path`.
pub fn api_config(url: &str, ca_path: &std::path::Path) -> ApiConfig {
    ApiConfig {
        base_url: url.to_owned(),
        template_id: TEMPLATE_ID.to_owned(),
        token_file: None,
        ca_file: Some(ca_path.to_owned()),
        ca_file_only: true,
        connect_timeout_ms: 1_000,
        request_timeout_ms: 2_000,
        finalize: false,
        max_image_bytes: 1_500_000,
    }
}

pub fn client_for(config: &ApiConfig, token: &str) -> Client {
    Client::new(config, ApiToken::new(token).unwrap()).expect("client builds")
}

/// A real, decodable JPEG (a gradient, so it is not trivially small).
pub fn jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(160, 120, |x, y| {
        image::Rgb([(x * 255 / 160) as u8, (y * 255 / 120) as u8, 128])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&img)
        .unwrap();
    out
}

/// Fails if `text` shows the token, or the image as base64 (a JPEG's
/// base64 starts with `/9j/`).
pub fn assert_no_secret_in(text: &str) {
    assert!(
        !text.contains(TOKEN) && !text.contains("t0ken"),
        "token leaked: {text}"
    );
    assert!(
        !text.contains("base64,") && !text.contains("/9j/"),
        "image leaked: {text}"
    );
}
