//! Reading Alma's answer within a size limit, and saying in a few words why a
//! connection failed (never with the URL's secrets or the API key).

use reqwest::Response;
use std::error::Error as _;

/// The largest answer read, in bytes: a user record is a few kilobytes, and a
/// worker must not hold an unbounded body in memory.
pub(crate) const MAX_ANSWER_BYTES: usize = 2 * 1024 * 1024;

/// Longest description of a transport failure, in characters.
const MAX_DESCRIPTION_CHARS: usize = 200;

/// The body of one answer, as far as it could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The whole body.
    Complete(Vec<u8>),
    /// Over [`MAX_ANSWER_BYTES`]: reading stopped there.
    TooLarge,
    /// The connection broke or timed out before the body was complete.
    CutOff(String),
}

/// Reads the body of `response`, stopping at [`MAX_ANSWER_BYTES`].
pub(crate) async fn read_answer(mut response: Response) -> Answer {
    let declared_too_large = response
        .content_length()
        .is_some_and(|length| length > MAX_ANSWER_BYTES as u64);
    if declared_too_large {
        return Answer::TooLarge;
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) if body.len() + chunk.len() > MAX_ANSWER_BYTES => {
                return Answer::TooLarge
            }
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => return Answer::Complete(body),
            Err(error) => return Answer::CutOff(describe(&error)),
        }
    }
}

/// A short description of a failed exchange: what went wrong and its root cause
/// (an I/O or protocol error), without the request URL.
pub(crate) fn describe(error: &reqwest::Error) -> String {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "connection broken during the answer"
    } else {
        "request failed"
    };
    let mut root = error.source();
    while let Some(cause) = root.and_then(|cause| cause.source()) {
        root = Some(cause);
    }
    let description = match root {
        Some(cause) => format!("{what}: {cause}"),
        None => what.to_owned(),
    };
    description.chars().take(MAX_DESCRIPTION_CHARS).collect()
}
