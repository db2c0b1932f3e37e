//! Finding a mailed link in a text or HTML body, the way a test follows it.

/// Characters that end a link in a text or HTML body.
fn ends_link(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>')
}

/// Punctuation a sentence may put right after a link; never the end of ours.
const TRAILING: &[char] = &['.', ',', ';', ':', '!', '?', ')'];

/// The first `http://` or `https://` link in `body` whose path starts with
/// `path_prefix` (e.g. `/accounts/activate`), or which starts with it when it
/// is a whole URL prefix (e.g. `http://127.0.0.1:8080/accounts/activate`).
/// HTML's `&amp;` is decoded, so the link from the HTML part equals the one
/// from the text part. Exists so that tests can follow activation and reset
/// links from the outbox or from the SES emulator.
pub fn find_link(body: &str, path_prefix: &str) -> Option<String> {
    body.match_indices("http")
        .map(|(start, _)| &body[start..])
        .filter(|rest| rest.starts_with("http://") || rest.starts_with("https://"))
        .map(|rest| {
            let end = rest.find(ends_link).unwrap_or(rest.len());
            rest[..end].trim_end_matches(TRAILING).replace("&amp;", "&")
        })
        .find(|url| url.starts_with(path_prefix) || path_of(url).starts_with(path_prefix))
}

/// The path and query of an absolute URL (empty when it has none).
fn path_of(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme
        .find('/')
        .map_or("", |slash| &after_scheme[slash..])
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "Bonjour,\n\nhttps://example.org/help for help.\n\
        Activez votre compte : http://127.0.0.1:8080/accounts/activate?token=Ab_9-x.\n";
    const HTML: &str = "<p><a href=\"https://example.org/help\">aide</a> \
        <a href=\"http://127.0.0.1:8080/password-reset/confirm?token=Ab_9&amp;lang=fr\">ici</a></p>";

    #[test]
    fn finds_the_link_by_its_path() {
        assert_eq!(
            find_link(TEXT, "/accounts/activate").as_deref(),
            Some("http://127.0.0.1:8080/accounts/activate?token=Ab_9-x")
        );
        assert_eq!(
            find_link(TEXT, "/help").as_deref(),
            Some("https://example.org/help")
        );
    }

    #[test]
    fn finds_the_link_by_a_whole_url_prefix() {
        assert_eq!(
            find_link(TEXT, "http://127.0.0.1:8080/accounts/").as_deref(),
            Some("http://127.0.0.1:8080/accounts/activate?token=Ab_9-x")
        );
    }

    #[test]
    fn reads_html_attributes_and_entities() {
        assert_eq!(
            find_link(HTML, "/password-reset/confirm").as_deref(),
            Some("http://127.0.0.1:8080/password-reset/confirm?token=Ab_9&lang=fr")
        );
    }

    #[test]
    fn none_when_absent() {
        assert_eq!(find_link(TEXT, "/password-reset/confirm"), None);
        assert_eq!(
            find_link("no link at all, only http and https words", "/"),
            None
        );
        assert_eq!(find_link("", "/accounts/activate"), None);
    }
}
