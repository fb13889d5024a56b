//! The key that seals queue entries at rest (see [`super::entry`]).
//!
//! Where it comes from, first match wins:
//! 1. the systemd credential `queue-key` (`$CREDENTIALS_DIRECTORY/queue-key`),
//!    which systemd can keep encrypted on disk and sealed to the TPM;
//! 2. `queue.key_file`, which must not be readable by group or others;
//! 3. otherwise `<queue.dir>/queue.key`, generated (0600) at first start.
//!
//! The third protects only against casual reading of the card: the key sits
//! on the same card as the entries. docs/security.md spells this out.
//!
//! A key is 32 bytes, stored raw or as 64 hex digits (a trailing newline is
//! allowed), so `systemd-creds encrypt` and `openssl rand -hex 32` both work.

use std::fmt;
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::OsRng;
use chacha20poly1305::aead::rand_core::RngCore;
use zeroize::Zeroizing;

use super::QueueConfig;
use crate::fsutil::{self, FsError, PRIVATE_FILE};
use crate::secret;

pub const KEY_LEN: usize = 32;
/// Name of the systemd credential (`LoadCredentialEncrypted=queue-key:...`).
pub const CREDENTIAL_NAME: &str = "queue-key";
/// Name of the generated key file inside `queue.dir`.
pub const GENERATED_KEY_FILE: &str = "queue.key";

/// A 32-byte key, wiped from memory when dropped. `Debug` never shows it.
#[derive(Clone)]
pub struct QueueKey(Zeroizing<[u8; KEY_LEN]>);

impl fmt::Debug for QueueKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QueueKey([redacted])")
    }
}

/// Where the key was found, for the start-up log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Credential(PathBuf),
    KeyFile(PathBuf),
    /// Generated at first start (or reused from an earlier start) in `queue.dir`.
    Generated(PathBuf),
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Credential(p) => write!(f, "systemd credential {}", p.display()),
            KeySource::KeyFile(p) => write!(f, "key file {}", p.display()),
            KeySource::Generated(p) => write!(
                f,
                "generated key file {} (on the same storage as the queue)",
                p.display()
            ),
        }
    }
}

/// Why no key could be had. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("queue key {path}: cannot read: {reason}", path = path.display())]
    Read { path: PathBuf, reason: String },
    #[error(
        "queue key {path}: readable by group or others (mode {mode:04o}); \
         run `chmod 600 {path}`",
        path = path.display()
    )]
    Permissions { path: PathBuf, mode: u32 },
    #[error(
        "queue key {path}: must hold {KEY_LEN} bytes or {hex} hex digits, found {len} bytes",
        path = path.display(),
        hex = KEY_LEN * 2
    )]
    Length { path: PathBuf, len: usize },
    #[error("queue key: cannot generate: {0}")]
    Generate(FsError),
}

impl QueueKey {
    /// A key from its bytes (tests, fuzzing).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> QueueKey {
        QueueKey(Zeroizing::new(bytes))
    }

    /// A fresh random key from the operating system.
    pub fn random() -> QueueKey {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        OsRng.fill_bytes(bytes.as_mut());
        QueueKey(bytes)
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Finds the key as the module documentation says, reading the
    /// credentials directory from the environment.
    pub fn load(config: &QueueConfig) -> Result<(QueueKey, KeySource), KeyError> {
        QueueKey::load_from(config, secret::credentials_directory().as_deref())
    }

    /// [`QueueKey::load`] with the credentials directory given.
    pub fn load_from(
        config: &QueueConfig,
        credentials_dir: Option<&Path>,
    ) -> Result<(QueueKey, KeySource), KeyError> {
        if let Some(path) = secret::credential_file(credentials_dir, CREDENTIAL_NAME) {
            return Ok((read_key(&path)?, KeySource::Credential(path)));
        }
        if let Some(path) = &config.key_file {
            check_private(path)?;
            return Ok((read_key(path)?, KeySource::KeyFile(path.clone())));
        }
        let path = config.dir.join(GENERATED_KEY_FILE);
        match fs::metadata(&path) {
            Ok(_) => {
                check_private(&path)?;
                Ok((read_key(&path)?, KeySource::Generated(path)))
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let key = QueueKey::random();
                fsutil::write_atomic(&path, key.bytes(), PRIVATE_FILE)
                    .map_err(KeyError::Generate)?;
                Ok((key, KeySource::Generated(path)))
            }
            Err(e) => Err(KeyError::Read {
                reason: unreadable_reason(&path, &e),
                path,
            }),
        }
    }
}

fn check_private(path: &Path) -> Result<(), KeyError> {
    let meta = fs::metadata(path).map_err(|e| KeyError::Read {
        path: path.to_owned(),
        reason: unreadable_reason(path, &e),
    })?;
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Permissions {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

fn read_key(path: &Path) -> Result<QueueKey, KeyError> {
    let content = Zeroizing::new(fs::read(path).map_err(|e| KeyError::Read {
        path: path.to_owned(),
        reason: unreadable_reason(path, &e),
    })?);
    parse_key(&content).ok_or_else(|| KeyError::Length {
        path: path.to_owned(),
        len: content.len(),
    })
}

/// Why a key file cannot be read, and what to do.
fn unreadable_reason(path: &Path, e: &std::io::Error) -> String {
    crate::secret::unreadable_secret_file(
        path,
        e,
        CREDENTIAL_NAME,
        "create it (32 random bytes or 64 hex digits, mode 0600), or correct queue.key_file",
        false,
    )
}

/// 32 raw bytes, or 64 hex digits with optional surrounding whitespace.
fn parse_key(content: &[u8]) -> Option<QueueKey> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    if content.len() == KEY_LEN {
        key.copy_from_slice(content);
        return Some(QueueKey(key));
    }
    let text = content.trim_ascii();
    if text.len() != KEY_LEN * 2 {
        return None;
    }
    for (byte, pair) in key.iter_mut().zip(text.chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(QueueKey(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn config(dir: &Path) -> QueueConfig {
        QueueConfig {
            dir: dir.join("queue"),
            ..QueueConfig::default()
        }
    }

    #[test]
    fn generated_once_private_and_reused() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = config(tmp.path());
        fs::create_dir(&cfg.dir).unwrap();
        let (a, source) = QueueKey::load_from(&cfg, None).unwrap();
        let path = cfg.dir.join(GENERATED_KEY_FILE);
        assert_eq!(source, KeySource::Generated(path.clone()));
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        let (b, _) = QueueKey::load_from(&cfg, None).unwrap();
        assert_eq!(a.bytes(), b.bytes());
        assert_ne!(a.bytes(), QueueKey::random().bytes());
    }

    #[test]
    fn credential_wins_then_key_file_raw_or_hex() {
        let tmp = tempfile::tempdir().unwrap();
        let mut cfg = config(tmp.path());
        let key_file = tmp.path().join("k");
        fs::write(&key_file, format!("{}\n", "ab".repeat(32))).unwrap();
        fs::set_permissions(&key_file, fs::Permissions::from_mode(0o600)).unwrap();
        cfg.key_file = Some(key_file.clone());
        let (k, source) = QueueKey::load_from(&cfg, None).unwrap();
        assert_eq!(source, KeySource::KeyFile(key_file));
        assert_eq!(k.bytes(), &[0xab; 32]);

        let creds = tmp.path().join("creds");
        fs::create_dir(&creds).unwrap();
        fs::write(creds.join(CREDENTIAL_NAME), [7u8; 32]).unwrap();
        let (k, source) = QueueKey::load_from(&cfg, Some(&creds)).unwrap();
        assert_eq!(source, KeySource::Credential(creds.join(CREDENTIAL_NAME)));
        assert_eq!(k.bytes(), &[7; 32]);
    }

    #[test]
    fn loose_permissions_and_bad_lengths_are_refused_clearly() {
        let tmp = tempfile::tempdir().unwrap();
        let mut cfg = config(tmp.path());
        let key_file = tmp.path().join("k");
        fs::write(&key_file, [1u8; 32]).unwrap();
        fs::set_permissions(&key_file, fs::Permissions::from_mode(0o640)).unwrap();
        cfg.key_file = Some(key_file.clone());
        let e = QueueKey::load_from(&cfg, None).unwrap_err();
        assert_eq!(
            e,
            KeyError::Permissions {
                path: key_file.clone(),
                mode: 0o640
            }
        );
        assert_eq!(
            e.to_string(),
            format!(
                "queue key {}: readable by group or others (mode 0640); run `chmod 600 {}`",
                key_file.display(),
                key_file.display()
            )
        );

        let missing = tmp.path().join("absent");
        let absent = QueueConfig {
            key_file: Some(missing.clone()),
            ..config(tmp.path())
        };
        assert_eq!(
            QueueKey::load_from(&absent, None).unwrap_err().to_string(),
            format!(
                "queue key {}: cannot read: No such file or directory (os error 2); create it \
                 (32 random bytes or 64 hex digits, mode 0600), or correct queue.key_file",
                missing.display()
            )
        );

        fs::set_permissions(&key_file, fs::Permissions::from_mode(0o600)).unwrap();
        fs::write(&key_file, b"too short").unwrap();
        let e = QueueKey::load_from(&cfg, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "queue key {}: must hold 32 bytes or 64 hex digits, found 9 bytes",
                key_file.display()
            )
        );
        assert!(format!("{:?}", QueueKey::from_bytes([9; 32])).contains("redacted"));
    }
}
