//! Page and limit of a listing (seed 001's HAL listings): defaults page 1 and
//! limit 10, limit at most 100; anything else is refused, never clamped.

use super::OrganizationError;

/// The largest page size.
pub const MAX_LIMIT: usize = 100;
/// The page size when none is asked for.
pub const DEFAULT_LIMIT: usize = 10;

/// Which slice of a listing to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// 1-based page number.
    pub page: usize,
    /// Items per page, 1 to [`MAX_LIMIT`].
    pub limit: usize,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            limit: DEFAULT_LIMIT,
        }
    }
}

impl PageRequest {
    /// Reads the `page` and `limit` query parameters (absent: defaults).
    pub fn parse(page: Option<&str>, limit: Option<&str>) -> Result<Self, OrganizationError> {
        let number = |name: &'static str, text: Option<&str>, default: usize, max: usize| {
            let Some(text) = text else {
                return Ok(default);
            };
            match text.trim().parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(OrganizationError::BadPage(format!(
                    "{name} must be a whole number from 1 to {max}"
                ))),
            }
        };
        Ok(Self {
            page: number("page", page, 1, usize::MAX)?,
            limit: number("limit", limit, DEFAULT_LIMIT, MAX_LIMIT)?,
        })
    }

    /// The requested slice of `items`, with the counts a HAL page needs.
    pub fn slice<T>(&self, items: Vec<T>) -> Page<T> {
        let total = items.len();
        let skip = (self.page - 1).saturating_mul(self.limit);
        Page {
            items: items.into_iter().skip(skip).take(self.limit).collect(),
            page: self.page,
            limit: self.limit,
            total,
        }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// Its number, from 1.
    pub page: usize,
    /// The page size.
    pub limit: usize,
    /// Items in the whole listing.
    pub total: usize,
}

impl<T> Page<T> {
    /// How many pages the listing has (at least 1).
    pub fn pages(&self) -> usize {
        self.total.div_ceil(self.limit).max(1)
    }

    /// The same page with each item mapped.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            page: self.page,
            limit: self.limit,
            total: self.total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(
            PageRequest::parse(None, None).unwrap(),
            PageRequest::default()
        );
        assert!(PageRequest::parse(Some("0"), None).is_err());
        assert!(PageRequest::parse(None, Some("101")).is_err());
        assert!(PageRequest::parse(Some("x"), None).is_err());
        assert_eq!(
            PageRequest::parse(Some("3"), Some("100")).unwrap().limit,
            100
        );
    }

    #[test]
    fn slices_and_counts_pages() {
        let request = PageRequest { page: 3, limit: 10 };
        let page = request.slice((0..25).collect::<Vec<_>>());
        assert_eq!(page.items, (20..25).collect::<Vec<_>>());
        assert_eq!((page.total, page.pages()), (25, 3));
        let empty = PageRequest::default().slice(Vec::<u8>::new());
        assert_eq!(empty.pages(), 1);
    }
}
