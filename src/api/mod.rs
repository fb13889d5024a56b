//! The IDMeta client (placeholder: filled by the API work).

/// Checks `api.base_url`: https, or http to a loopback host only.
pub fn check_base_url(url: &str) -> Result<(), String> {
    if url.starts_with("https://") || url.starts_with("http://127.0.0.1") {
        Ok(())
    } else {
        Err(format!("`{url}` is not an https URL"))
    }
}
