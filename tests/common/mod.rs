//! Shared by the API integration tests: a stand-in with strict expectations,
//! a client that trusts it through `api.ca_file`, and a real JPEG.
#![allow(dead_code)] // each test crate uses a different part

pub mod daemon;
pub mod leaks;
pub mod mosquitto;
pub mod skip;
pub mod tmpfs;

use std::path::PathBuf;

use enrolld::api::Client;
use enrolld::api::{ApiConfig, ApiVersion};
use enrolld::secret::ApiToken;
use enrolld_standin::{Behaviour, Expectations, StandIn, StandInOptions};

pub const TOKEN: &str = "42|t0ken-Secret-xyz";
/// A whole number, so it serves as v3's integer `trustFlowId` too.
pub const TEMPLATE_ID: &str = "129";

/// The registration API versions the foundation, hostile-server and exactly-once tests run
/// under: every such test runs once per version.
pub const VERSIONS: [ApiVersion; 2] = [ApiVersion::V1, ApiVersion::V3];

/// Each scenario `fn name(version: ApiVersion)` as two tests, `name::v1` and `name::v3`: one
/// body, run for both registration API versions (in parallel, and named by version when one
/// fails).
#[macro_export]
macro_rules! for_each_version {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn v1() {
                    super::$name(enrolld::api::ApiVersion::V1)
                }
                #[test]
                fn v3() {
                    super::$name(enrolld::api::ApiVersion::V3)
                }
            }
        )*
    };
}

/// A stand-in plus a temp dir holding its CA, and the API version the client speaks.
pub struct Env {
    pub server: StandIn,
    pub dir: tempfile::TempDir,
    pub ca_path: PathBuf,
    pub version: ApiVersion,
}

impl Env {
    pub fn start(behaviour: Behaviour) -> Env {
        Env::start_with_names(behaviour, None)
    }

    /// [`Env::start`], the client speaking `version`.
    pub fn start_in(version: ApiVersion, behaviour: Behaviour) -> Env {
        Env::start(behaviour).speaking(version)
    }

    /// The same stand-in, the client speaking `version`.
    pub fn speaking(mut self, version: ApiVersion) -> Env {
        self.version = version;
        self
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
            ..StandInOptions::default()
        };
        if let Some(names) = names {
            options.cert_names = names;
        }
        Env::start_options(options)
    }

    /// A stand-in from these options, expecting [`TOKEN`] and [`TEMPLATE_ID`].
    pub fn start_options(options: StandInOptions) -> Env {
        Env::start_for_token(options, TOKEN)
    }

    /// A stand-in from these options, expecting `token` and [`TEMPLATE_ID`].
    pub fn start_for_token(options: StandInOptions, token: &str) -> Env {
        let options = StandInOptions {
            expect: Expectations {
                token: Some(token.to_owned()),
                template_id: Some(TEMPLATE_ID.to_owned()),
            },
            ..options
        };
        let server = StandIn::start_with(options).expect("stand-in starts");
        let dir = tempfile::tempdir().unwrap();
        let ca_path = dir.path().join("standin-ca.pem");
        std::fs::write(&ca_path, server.ca_pem()).unwrap();
        Env {
            server,
            dir,
            ca_path,
            version: ApiVersion::V1,
        }
    }

    /// Writes a token file and an `enrolld.toml` for `enrolld register`
    /// against this stand-in into the temp dir; returns the config's path.
    pub fn write_cli_config(
        &self,
        token: &str,
        finalize: bool,
        request_timeout_ms: u64,
    ) -> PathBuf {
        let dir = self.dir.path();
        let token_file = dir.join("token");
        std::fs::write(&token_file, format!("{token}\n")).unwrap();
        let config = dir.join("enrolld.toml");
        std::fs::write(
            &config,
            format!(
                "[api]\nversion = {}\nbase_url = \"{}\"\ntemplate_id = \"{TEMPLATE_ID}\"\n\
                 token_file = \"{}\"\nca_file = \"{}\"\nca_file_only = true\n\
                 connect_timeout_ms = 1000\nrequest_timeout_ms = {request_timeout_ms}\n\
                 finalize = {finalize}\n",
                self.version,
                self.server.url(),
                token_file.display(),
                self.ca_path.display()
            ),
        )
        .unwrap();
        config
    }

    /// `[api]` for this stand-in, short timeouts so failure cases are quick.
    pub fn api_config(&self) -> ApiConfig {
        ApiConfig {
            version: self.version,
            ..api_config(&self.server.url(), &self.ca_path)
        }
    }

    pub fn client(&self) -> Client {
        client_for(&self.api_config(), TOKEN)
    }
}

/// `[api]` for a stand-in at `url` whose CA is in `ca_path`.
pub fn api_config(url: &str, ca_path: &std::path::Path) -> ApiConfig {
    ApiConfig {
        version: ApiVersion::V1,
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

/// A JPEG of random noise: bytes no other run or test produces.
pub fn unique_jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(96, 72, |_, _| {
        image::Rgb([fastrand::u8(..), fastrand::u8(..), fastrand::u8(..)])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .unwrap();
    out
}

/// A token no other run uses, shaped like IDMeta's (`<int>|<random>`).
pub fn unique_token() -> String {
    format!(
        "{}|hyg{:016x}{:016x}",
        fastrand::u16(1..),
        fastrand::u64(..),
        fastrand::u64(..)
    )
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
