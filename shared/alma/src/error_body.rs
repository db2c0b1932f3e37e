//! Reading Alma's error bodies: the JSON form and the XML `web_service_result`,
//! whatever the Content-Type says (API-key errors come back as XML even when JSON
//! was asked for).

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use serde_json::Value;

/// The namespace of Alma's XML `web_service_result`.
const ALMA_XML_NAMESPACE: &[u8] = b"http://com/exlibris/urm/general/xmlbeans";

/// Longest error message kept, in characters: a message ends up in logs and
/// dead-letter reasons, not a whole page.
const MAX_MESSAGE_CHARS: usize = 500;

/// The first error of Alma's `errorList`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AlmaErrorBody {
    /// `errorCode`: a number as text, or a word such as `PER_SECOND_THRESHOLD`.
    pub(crate) code: String,
    /// `errorMessage`, cut to a reasonable length.
    pub(crate) message: String,
}

/// The first error of an Alma error body, JSON or XML; `None` when the body is
/// neither form (an HTML page of a proxy, an empty or truncated body…).
pub(crate) fn parse_error_body(body: &[u8]) -> Option<AlmaErrorBody> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with('{') {
        parse_json(text)
    } else if text.starts_with('<') {
        parse_xml(text)
    } else {
        None
    }
}

/// `{"errorList":{"error":[…] | {…}}}`, also wrapped in `{"web_service_result": …}`
/// as Alma's gateway writes it when it converts its XML errors to JSON.
fn parse_json(text: &str) -> Option<AlmaErrorBody> {
    let value: Value = serde_json::from_str(text).ok()?;
    let result = value.get("web_service_result").unwrap_or(&value);
    let error = match result.get("errorList")?.get("error")? {
        Value::Array(errors) => errors.first()?,
        single => single,
    };
    let code = match error.get("errorCode")? {
        Value::String(code) => code.trim().to_owned(),
        Value::Number(code) => code.to_string(),
        _ => return None,
    };
    let message = error
        .get("errorMessage")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Some(AlmaErrorBody {
        code,
        message: shorten(message.trim()),
    })
}

/// Which field of the first error the XML reader is in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum XmlField {
    Other,
    Code,
    Message,
}

/// `<web_service_result xmlns="http://com/exlibris/urm/general/xmlbeans">…
/// <errorList><error><errorCode>…</errorCode><errorMessage>…</errorMessage>…`.
/// A field counts only once its closing tag is read, so a truncated body gives
/// nothing rather than half a code.
fn parse_xml(text: &str) -> Option<AlmaErrorBody> {
    let mut reader = NsReader::from_str(text);
    let mut path: Vec<Vec<u8>> = Vec::new();
    let mut field = XmlField::Other;
    let mut buffer = String::new();
    let (mut code, mut message) = (None::<String>, None::<String>);
    loop {
        match reader.read_resolved_event().ok()? {
            (namespace, Event::Start(start)) => {
                let name = start.local_name().as_ref().to_vec();
                if path.is_empty() && !is_web_service_result(&namespace, &name) {
                    return None;
                }
                path.push(name);
                field = match path.as_slice() {
                    [_, list, error, name] if list == b"errorList" && error == b"error" => {
                        match name.as_slice() {
                            b"errorCode" => XmlField::Code,
                            b"errorMessage" => XmlField::Message,
                            _ => XmlField::Other,
                        }
                    }
                    _ => XmlField::Other,
                };
                buffer.clear();
            }
            (_, Event::End(_)) => {
                match field {
                    XmlField::Code => code = Some(std::mem::take(&mut buffer)),
                    XmlField::Message => message = Some(std::mem::take(&mut buffer)),
                    XmlField::Other => {}
                }
                field = XmlField::Other;
                let closed = path.pop();
                let first_error_closed = path.len() == 2
                    && path[1] == b"errorList"
                    && closed.as_deref() == Some(b"error".as_slice());
                if path.is_empty() || first_error_closed {
                    break;
                }
            }
            (_, Event::Text(text)) if field != XmlField::Other => {
                buffer.push_str(&text.unescape().ok()?);
            }
            (_, Event::CData(data)) if field != XmlField::Other => {
                buffer.push_str(&String::from_utf8_lossy(&data));
            }
            (_, Event::Eof) => break,
            _ => {}
        }
    }
    let code = code.filter(|code| !code.trim().is_empty())?;
    Some(AlmaErrorBody {
        code: code.trim().to_owned(),
        message: shorten(message.unwrap_or_default().trim()),
    })
}

/// Whether the root is Alma's `web_service_result`: in Alma's namespace, or in
/// none (as some gateways and older answers write it).
fn is_web_service_result(namespace: &ResolveResult, local_name: &[u8]) -> bool {
    let alma_namespace = match namespace {
        ResolveResult::Bound(namespace) => namespace.as_ref() == ALMA_XML_NAMESPACE,
        ResolveResult::Unbound => true,
        ResolveResult::Unknown(_) => false,
    };
    alma_namespace && local_name == b"web_service_result"
}

fn shorten(message: &str) -> String {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(body: &str) -> Option<(String, String)> {
        parse_error_body(body.as_bytes()).map(|error| (error.code, error.message))
    }

    fn pair(code: &str, message: &str) -> Option<(String, String)> {
        Some((code.to_owned(), message.to_owned()))
    }

    #[test]
    fn reads_the_first_error_of_a_json_list() {
        let body = r#"{"errorsExist":true,"errorList":{"error":[
            {"errorCode":"401861","errorMessage":"User with identifier X was not found.","trackingId":"E01-1"},
            {"errorCode":"60101","errorMessage":"General error"}]},"result":null}"#;
        assert_eq!(
            parsed(body),
            pair("401861", "User with identifier X was not found.")
        );
    }

    #[test]
    fn reads_a_json_single_error_object_and_numeric_codes() {
        let body = r#"{"errorsExist":true,"errorList":{"error":{"errorCode":60227,"errorMessage":"Linked account for user already exists"}}}"#;
        assert_eq!(
            parsed(body),
            pair("60227", "Linked account for user already exists")
        );
    }

    #[test]
    fn reads_the_gateway_json_wrapped_in_web_service_result() {
        let body = r#"{"web_service_result":{"errorsExist":true,"errorList":{"error":{"errorCode":"PER_SECOND_THRESHOLD","errorMessage":"HTTP requests are more than allowed per second"}}}}"#;
        assert_eq!(
            parsed(body),
            pair(
                "PER_SECOND_THRESHOLD",
                "HTTP requests are more than allowed per second"
            )
        );
    }

    #[test]
    fn reads_the_xml_web_service_result() {
        let body = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><web_service_result xmlns="http://com/exlibris/urm/general/xmlbeans"><errorsExist>true</errorsExist><errorList><error><errorCode>UNAUTHORIZED</errorCode><errorMessage>API-key not defined or not configured to allow this API.</errorMessage></error></errorList></web_service_result>"#;
        assert_eq!(
            parsed(body),
            pair(
                "UNAUTHORIZED",
                "API-key not defined or not configured to allow this API."
            )
        );
    }

    #[test]
    fn reads_prefixed_xml_with_escapes_and_keeps_only_the_first_error() {
        let body = r#"<ws:web_service_result xmlns:ws="http://com/exlibris/urm/general/xmlbeans">
            <ws:errorsExist>true</ws:errorsExist>
            <ws:errorList>
              <ws:error><ws:errorCode> 401851 </ws:errorCode><ws:errorMessage>User with identifier of type &quot;Barcode&quot; already exists</ws:errorMessage></ws:error>
              <ws:error><ws:errorCode>60101</ws:errorCode><ws:errorMessage>General error</ws:errorMessage></ws:error>
            </ws:errorList></ws:web_service_result>"#;
        assert_eq!(
            parsed(body),
            pair(
                "401851",
                "User with identifier of type \"Barcode\" already exists"
            )
        );
    }

    #[test]
    fn xml_in_another_namespace_or_without_a_code_is_not_alma_s() {
        let foreign = r#"<web_service_result xmlns="urn:other"><errorList><error><errorCode>1</errorCode></error></errorList></web_service_result>"#;
        assert_eq!(parsed(foreign), None);
        let no_code = r#"<web_service_result xmlns="http://com/exlibris/urm/general/xmlbeans"><errorList><error><errorMessage>oops</errorMessage></error></errorList></web_service_result>"#;
        assert_eq!(parsed(no_code), None);
    }

    #[test]
    fn reads_xml_without_a_namespace() {
        let body = "<web_service_result><errorList><error><errorCode>401890</errorCode><errorMessage><![CDATA[User <x> not found]]></errorMessage></error></errorList></web_service_result>";
        assert_eq!(parsed(body), pair("401890", "User <x> not found"));
    }

    #[test]
    fn garbage_gives_nothing() {
        for body in [
            "",
            "   ",
            "Internal Server Error",
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
            r#"{"errorsExist":true,"errorList":{"error":[{"errorCode":"4018"#,
            r#"{"errorList":{"error":[]}}"#,
            r#"{"errorList":{"error":{"errorCode":null}}}"#,
            r#"{"primary_id":"p1"}"#,
            "<web_service_result xmlns=\"http://com/exlibris/urm/general/xmlbeans\"><errorList><error><errorCode>4",
            "\u{0}\u{1}\u{2}",
        ] {
            assert_eq!(parsed(body), None, "{body:?}");
        }
        assert_eq!(parse_error_body(&[0xff, 0xfe, 0x00, 0x7b]), None);
    }

    #[test]
    fn long_messages_are_cut() {
        let long = "é".repeat(2_000);
        let body =
            format!(r#"{{"errorList":{{"error":{{"errorCode":"1","errorMessage":"{long}"}}}}}}"#);
        let (_, message) = parsed(&body).unwrap();
        assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(message.ends_with('…'));
    }
}
