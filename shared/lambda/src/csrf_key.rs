//! The staff console's CSRF key as it is configured: 64 hexadecimal digits
//! (32 bytes). Every instance of the console must derive the same form tokens
//! from one session, so the key is read from configuration (a Secrets Manager
//! secret the stack generates), never made up at start-up.

/// Why a configured CSRF key is unusable (never quoting the value).
pub(crate) const EXPECTED: &str = "expected 64 hexadecimal digits (32 bytes)";

/// The 32 bytes written as `text` (64 hexadecimal digits, either case;
/// surrounding whitespace, such as a pasted line break, is ignored).
pub(crate) fn parse(text: &str) -> Option<[u8; 32]> {
    let digits = text.trim().as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let mut key = [0u8; 32];
    for (byte, pair) in key.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(key)
}

/// The value of one hexadecimal digit.
fn digit(c: u8) -> Option<u8> {
    char::from(c)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixty_four_hex_digits_are_the_32_bytes_they_write() {
        let text: String = (0u8..32).map(|b| format!("{:02x}", b * 7)).collect();
        let expected: Vec<u8> = (0u8..32).map(|b| b * 7).collect();
        assert_eq!(parse(&text).map(|k| k.to_vec()), Some(expected.clone()));
        assert_eq!(
            parse(&format!(" {}\n", text.to_uppercase())).map(|k| k.to_vec()),
            Some(expected),
            "either case, surrounding whitespace ignored"
        );
    }

    #[test]
    fn anything_else_is_refused() {
        let good = "0123456789abcdef".repeat(4);
        assert!(parse(&good).is_some());
        for bad in [
            String::new(),
            good[..63].to_owned(),
            format!("{good}0"),
            format!("{}g", &good[..63]),
            format!("{}é", &good[..62]),
            format!("{} {}", &good[..32], &good[32..63]),
            "+1".repeat(32),
        ] {
            assert_eq!(parse(&bad), None, "{bad:?}");
        }
    }
}
