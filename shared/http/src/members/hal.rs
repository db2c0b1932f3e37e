//! HAL listings as seed 001 shows them: `page`, `limit`, `pages`, `total`,
//! `_links` (`self`, `first`, `last`, and `next` / `prev` only when such a
//! page exists) whose `href`s keep the listing's filters, and `_embedded.items`.

use patron_hub_domain::organizations::Page;
use serde_json::{json, Map, Value};

/// A link object: `{"href": …}`.
pub fn link(href: impl Into<String>) -> Value {
    json!({ "href": href.into() })
}

/// A link to a resource with the path variables of its IRI template:
/// `{"href": …, "iriTemplate": {"mapping": {…}}}`.
pub fn templated_link(href: String, mapping: &[(&str, String)]) -> Value {
    let mapping: Map<String, Value> = mapping
        .iter()
        .map(|(name, value)| ((*name).to_owned(), Value::String(value.clone())))
        .collect();
    json!({ "href": href, "iriTemplate": { "mapping": mapping } })
}

/// The listing of `page` at `path`, its links repeating `filters` before `page` and `limit`.
pub fn listing(path: &str, filters: &[(&str, String)], page: Page<Value>) -> Value {
    let pages = page.pages();
    let href = |number: usize| {
        let mut query = String::new();
        for (name, value) in filters {
            query.push_str(&format!("{}={}&", encode(name), encode(value)));
        }
        format!("{path}?{query}page={number}&limit={}", page.limit)
    };
    let mut links = Map::new();
    links.insert("self".into(), link(href(page.page)));
    links.insert("first".into(), link(href(1)));
    links.insert("last".into(), link(href(pages)));
    if page.page < pages {
        links.insert("next".into(), link(href(page.page + 1)));
    }
    if page.page > 1 {
        // Past the end, the previous page is the last one that has items.
        links.insert("prev".into(), link(href((page.page - 1).min(pages))));
    }
    json!({
        "page": page.page,
        "limit": page.limit,
        "pages": pages,
        "total": page.total,
        "_links": links,
        "_embedded": { "items": page.items },
    })
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use patron_hub_domain::organizations::PageRequest;

    fn page(number: usize, total: usize) -> Value {
        let items = (0..total).map(|i| json!(i)).collect();
        listing(
            "/p",
            &[],
            PageRequest {
                page: number,
                limit: 10,
            }
            .slice(items),
        )
    }

    #[test]
    fn a_single_page_has_neither_next_nor_prev() {
        let only = page(1, 3);
        assert_eq!(
            only,
            json!({"page": 1, "limit": 10, "pages": 1, "total": 3,
                   "_links": {"self": {"href": "/p?page=1&limit=10"},
                              "first": {"href": "/p?page=1&limit=10"},
                              "last": {"href": "/p?page=1&limit=10"}},
                   "_embedded": {"items": [0, 1, 2]}})
        );
        let empty = page(1, 0);
        assert_eq!(
            (empty["pages"].clone(), empty["total"].clone()),
            (json!(1), json!(0))
        );
    }

    #[test]
    fn past_the_end_the_previous_page_is_the_last() {
        let beyond = page(7, 25);
        assert_eq!(beyond["_embedded"]["items"], json!([]));
        assert_eq!(beyond["_links"]["prev"]["href"], "/p?page=3&limit=10");
        assert!(beyond["_links"].get("next").is_none());
    }

    #[test]
    fn filters_are_encoded_and_kept() {
        let filters = [("search[email]", "martin & co".to_owned())];
        let listed = listing("/people", &filters, PageRequest::default().slice(vec![]));
        assert_eq!(
            listed["_links"]["self"]["href"],
            "/people?search%5Bemail%5D=martin%20%26%20co&page=1&limit=10"
        );
    }
}
