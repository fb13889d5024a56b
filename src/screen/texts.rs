//! The words for each prompt: the site's own (`[display.prompts]`, so a site can translate),
//! else the English default of [`PromptKey`]. The renderer never chooses words itself.

use std::collections::BTreeMap;

use crate::prompt::PromptKey;

/// The longest text a site may give a prompt (characters); longer ones are refused at start
/// rather than cut on the screen.
pub const MAX_TEXT_CHARS: usize = 160;

/// Every prompt's words.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Texts {
    own: BTreeMap<PromptKey, String>,
}

/// Why a site's text is not taken; `key` is the prompt's key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("`{key}` is not a prompt; known: {known}")]
    UnknownKey { key: String, known: String },
    #[error("{key}: must be 1 to {MAX_TEXT_CHARS} characters without control characters")]
    BadText { key: String },
}

impl TextError {
    pub fn key(&self) -> &str {
        match self {
            TextError::UnknownKey { key, .. } | TextError::BadText { key } => key,
        }
    }
}

impl Texts {
    /// The defaults, with `own` (prompt key to text) over them.
    pub fn new(own: &BTreeMap<String, String>) -> Result<Texts, TextError> {
        let mut texts = BTreeMap::new();
        for (key, text) in own {
            let prompt = PromptKey::from_key(key).ok_or_else(|| TextError::UnknownKey {
                key: key.clone(),
                known: PromptKey::ALL.map(PromptKey::key).join(", "),
            })?;
            let chars = text.chars().count();
            if text.trim().is_empty()
                || chars > MAX_TEXT_CHARS
                || text.chars().any(char::is_control)
            {
                return Err(TextError::BadText { key: key.clone() });
            }
            texts.insert(prompt, text.trim().to_owned());
        }
        Ok(Texts { own: texts })
    }

    pub fn get(&self, key: PromptKey) -> &str {
        self.own
            .get(&key)
            .map_or_else(|| key.default_text(), String::as_str)
    }

    /// Every text in use, with its key (to check the font has their letters).
    pub fn all(&self) -> impl Iterator<Item = (PromptKey, &str)> {
        PromptKey::ALL.into_iter().map(|k| (k, self.get(k)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_text_replaces_the_default_and_bad_ones_are_named() {
        let own = BTreeMap::from([(
            "look_at_screen".to_owned(),
            "Bitte hierher schauen".to_owned(),
        )]);
        let t = Texts::new(&own).unwrap();
        assert_eq!(t.get(PromptKey::LookAtScreen), "Bitte hierher schauen");
        assert_eq!(t.get(PromptKey::HoldStill), "Hold still");
        let bad = BTreeMap::from([("look_at_me".to_owned(), "x".to_owned())]);
        let e = Texts::new(&bad).unwrap_err();
        assert_eq!(e.key(), "look_at_me");
        assert!(e.to_string().contains("look_at_screen"), "{e}");
        let empty = BTreeMap::from([("hold_still".to_owned(), "  ".to_owned())]);
        assert_eq!(Texts::new(&empty).unwrap_err().key(), "hold_still");
    }
}
