//! Endpoint checks made with a GET: the provider sends a challenge, in a query parameter or a
//! header, and expects it back, echoed (Dropbox, Nylas, Worldline) or signed (X, LinkedIn).
//!
//! Such a GET is not authenticated, so whatever it carries is answered to whoever sent it: only a
//! challenge shaped as the provider's are (bounded, of its alphabet) is answered at all, and an
//! echo goes back as text with `X-Content-Type-Options: nosniff`, so that no browser takes a
//! reflected value for markup.

use crate::{Delivery, Handshake, Key, SignatureError, optional_header};

/// Where a provider puts its challenge.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Carrier {
    Query(&'static str),
    /// `unreadable`: why a header given twice, or not as visible ASCII, is not the check.
    Header {
        name: &'static str,
        unreadable: &'static str,
    },
}

/// One provider's challenge: where it is, what it looks like, and why a GET is refused.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Challenge {
    pub carrier: Carrier,
    /// Whether a challenge is shaped as the provider's are: nothing else is answered.
    pub shaped: fn(&str) -> bool,
    /// Why a GET without the challenge is not the check; it names the provider.
    pub missing: &'static str,
    /// Why a challenge of another shape is not answered.
    pub misshapen: &'static str,
}

impl Challenge {
    /// Every GET is the provider's check, its deliveries being POSTs: the challenge it carries,
    /// once it is shaped as the provider's are, is answered by `answer`. `None` for any other
    /// method, which is a delivery to verify.
    pub(crate) fn on_get(
        &self,
        delivery: &Delivery<'_>,
        answer: impl FnOnce(String) -> Result<Handshake, SignatureError>,
    ) -> Option<Result<Handshake, SignatureError>> {
        delivery
            .method
            .eq_ignore_ascii_case("GET")
            .then(|| self.read(delivery).and_then(answer))
    }

    /// As [`Challenge::on_get`], answering with the challenge echoed.
    pub(crate) fn echo_on_get(
        &self,
        delivery: &Delivery<'_>,
    ) -> Option<Result<Handshake, SignatureError>> {
        self.on_get(delivery, |challenge| Ok(echo(challenge)))
    }

    fn read(&self, delivery: &Delivery<'_>) -> Result<String, SignatureError> {
        let challenge = match self.carrier {
            Carrier::Query(name) => query_param(delivery.query.unwrap_or(""), name)?,
            Carrier::Header { name, unreadable } => optional_header(delivery.headers, name)
                .map_err(|_| SignatureError::NotAHandshake(unreadable))?
                .map(str::to_owned),
        }
        .ok_or(SignatureError::NotAHandshake(self.missing))?;
        if !(self.shaped)(&challenge) {
            return Err(SignatureError::NotAHandshake(self.misshapen));
        }
        Ok(challenge)
    }
}

/// Whether `text` is a plain token: one to `max_len` bytes, each of them `allowed`.
pub(crate) fn is_plain_token(text: &str, max_len: usize, allowed: fn(u8) -> bool) -> bool {
    (1..=max_len).contains(&text.len()) && text.bytes().all(allowed)
}

/// The answer that echoes a challenge: the text itself, which the browser must not sniff.
pub(crate) fn echo(challenge: String) -> Handshake {
    Handshake {
        header: Some(("x-content-type-options", "nosniff".to_owned())),
        ..Handshake::text(challenge)
    }
}

/// The value of `name` in a query string, decoded as a form would be; `Err` when it appears more
/// than once, since which copy to read would be a guess.
fn only_value(query: &str, name: &str) -> Result<Option<String>, ()> {
    let mut found = None;
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if key == name && found.replace(value.into_owned()).is_some() {
            return Err(());
        }
    }
    Ok(found)
}

/// A parameter a signed or enrolling request reads (Meta's, an enrolment token): given twice,
/// the request is malformed.
pub(crate) fn query_value(
    query: &str,
    name: &'static str,
) -> Result<Option<String>, SignatureError> {
    only_value(query, name).map_err(|()| SignatureError::Malformed {
        field: name,
        why: "the parameter appears more than once",
    })
}

/// A challenge's parameter: given twice, the request is no provider's check.
pub(crate) fn query_param(
    query: &str,
    name: &'static str,
) -> Result<Option<String>, SignatureError> {
    only_value(query, name)
        .map_err(|()| SignatureError::NotAHandshake("a check's parameter appears more than once"))
}

/// The key a provider's endpoint check is answered with: the source's first secret, the one it
/// rolls to, since the check names no key.
pub(crate) fn answering_key(keys: &[Key]) -> Result<&[u8], SignatureError> {
    keys.iter()
        .find_map(Key::shared)
        .ok_or(SignatureError::Mismatch)
}

/// A GET to a provider's endpoint, as its check arrives: no body, the query as given.
#[cfg(test)]
pub(crate) fn get<'a>(headers: &'a http::HeaderMap, query: Option<&'a str>) -> Delivery<'a> {
    Delivery {
        headers,
        body: b"",
        url: None,
        method: "GET",
        query,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::HandshakeBody;
    use http::{HeaderMap, HeaderValue};

    fn letters(b: u8) -> bool {
        b.is_ascii_lowercase()
    }

    const IN_HEADER: Challenge = Challenge {
        carrier: Carrier::Header {
            name: "x-check",
            unreadable: "unreadable",
        },
        shaped: |text| is_plain_token(text, 4, letters),
        missing: "missing",
        misshapen: "misshapen",
    };

    fn answer(challenge: &Challenge, delivery: &Delivery<'_>) -> Result<Handshake, &'static str> {
        match challenge.echo_on_get(delivery) {
            Some(Err(SignatureError::NotAHandshake(why))) => Err(why),
            other => other.expect("a GET is answered").map_err(|e| e.code()),
        }
    }

    #[test]
    fn an_echo_is_the_text_itself_and_not_to_be_sniffed() {
        let answer = echo("abc".to_owned());
        assert_eq!(answer.body, HandshakeBody::Text("abc".to_owned()));
        assert_eq!(
            answer.header,
            Some(("x-content-type-options", "nosniff".to_owned()))
        );
        assert_eq!(answer.install_secret, None);
    }

    #[test]
    fn a_plain_token_is_bounded_and_of_its_alphabet() {
        assert!(is_plain_token("abcd", 4, letters));
        assert!(!is_plain_token("", 4, letters));
        assert!(!is_plain_token("abcde", 4, letters));
        assert!(!is_plain_token("ab1", 4, letters));
    }

    #[test]
    fn a_query_parameter_is_decoded_and_refused_when_given_twice() {
        assert_eq!(query_param("a=1&c=x%20y", "c"), Ok(Some("x y".to_owned())));
        assert_eq!(query_param("a=1", "c"), Ok(None));
        assert!(matches!(
            query_param("c=1&c=1", "c"),
            Err(SignatureError::NotAHandshake(_))
        ));
    }

    #[test]
    fn a_header_challenge_is_read_once_shaped_or_refused_with_the_providers_reason() {
        let mut headers = HeaderMap::new();
        assert_eq!(answer(&IN_HEADER, &get(&headers, None)), Err("missing"));
        headers.insert("x-check", HeaderValue::from_static("abcd"));
        assert_eq!(
            answer(&IN_HEADER, &get(&headers, None)),
            Ok(echo("abcd".to_owned()))
        );
        headers.insert("x-check", HeaderValue::from_static("abcde"));
        assert_eq!(answer(&IN_HEADER, &get(&headers, None)), Err("misshapen"));
        headers.append("x-check", HeaderValue::from_static("abcd"));
        assert_eq!(answer(&IN_HEADER, &get(&headers, None)), Err("unreadable"));
        let post = Delivery::post(&headers, b"{}");
        assert_eq!(IN_HEADER.echo_on_get(&post), None);
    }

    #[test]
    fn the_first_shared_secret_answers() {
        let keys = [Key::secret(b"new".to_vec()), Key::secret(b"old".to_vec())];
        assert_eq!(answering_key(&keys), Ok(&b"new"[..]));
        assert_eq!(answering_key(&[]), Err(SignatureError::Mismatch));
    }
}
