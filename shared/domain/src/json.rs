//! Small JSON helpers shared by the request types of several use cases.

use serde::{Deserialize, Deserializer};

/// For `Option<Option<T>>` patch fields: absent is `None` (keep), `null` is
/// `Some(None)` (clear), a value is `Some(Some(v))` (set). Use with
/// `#[serde(default, deserialize_with = "crate::json::present")]`.
pub(crate) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}
