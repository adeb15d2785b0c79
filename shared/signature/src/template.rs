//! The signing string of a data scheme, written as a template over the delivery: `{body}`,
//! `{timestamp}`, `{id}` and `{url}`, with literal text around them signed as written
//! (`v0:{timestamp}:{body}`, `{id}.{timestamp}.{body}`, `{body}{url}`).

/// One piece of a signing string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Piece<'t> {
    Text(&'t str),
    Body,
    Timestamp,
    Id,
    Url,
}

/// Why a template is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("`{{body}}` must appear exactly once")]
    Body,
    #[error("unknown placeholder: expected {{body}}, {{timestamp}}, {{id}} or {{url}}")]
    Unknown,
    #[error("a `{{` without its `}}`")]
    Unclosed,
    #[error("`{{timestamp}}` is there exactly when the scheme has a timestamp")]
    Timestamp,
    #[error("`{{id}}` needs id_header, the header the id is read from")]
    Id,
}

/// The pieces of `template`, in order.
pub(crate) fn pieces(template: &str) -> impl Iterator<Item = Result<Piece<'_>, TemplateError>> {
    let mut rest = template;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let Some(open) = rest.find('{') else {
            let text = rest;
            rest = "";
            return Some(Ok(Piece::Text(text)));
        };
        if open > 0 {
            let text = &rest[..open];
            rest = &rest[open..];
            return Some(Ok(Piece::Text(text)));
        }
        let Some(close) = rest.find('}') else {
            rest = "";
            return Some(Err(TemplateError::Unclosed));
        };
        let name = &rest[1..close];
        rest = &rest[close + 1..];
        Some(match name {
            "body" => Ok(Piece::Body),
            "timestamp" => Ok(Piece::Timestamp),
            "id" => Ok(Piece::Id),
            "url" => Ok(Piece::Url),
            _ => Err(TemplateError::Unknown),
        })
    })
}

/// Whether `template` names `piece`.
pub(crate) fn names(template: &str, piece: Piece<'_>) -> bool {
    pieces(template).any(|p| p == Ok(piece))
}

/// Checks a template against what the scheme has: a timestamp, an id header.
pub(crate) fn check(template: &str, timestamp: bool, id: bool) -> Result<(), TemplateError> {
    let mut bodies = 0;
    let mut timestamps = 0;
    for piece in pieces(template) {
        match piece? {
            Piece::Body => bodies += 1,
            Piece::Timestamp => timestamps += 1,
            Piece::Id if !id => return Err(TemplateError::Id),
            _ => {}
        }
    }
    if bodies != 1 {
        return Err(TemplateError::Body);
    }
    if (timestamps > 0) != timestamp {
        return Err(TemplateError::Timestamp);
    }
    Ok(())
}

/// The template in words, for `inlet providers`: placeholders without their braces, and ` + `
/// between two with nothing signed between them (`body + url`).
pub(crate) fn describe(template: &str) -> String {
    let mut words = String::new();
    let mut after_placeholder = false;
    for piece in pieces(template) {
        let word = match piece {
            Ok(Piece::Text(text)) => {
                words.push_str(text);
                after_placeholder = false;
                continue;
            }
            Ok(Piece::Body) => "body",
            Ok(Piece::Timestamp) => "timestamp",
            Ok(Piece::Id) => "id",
            Ok(Piece::Url) => "url",
            Err(_) => "?",
        };
        if after_placeholder {
            words.push_str(" + ");
        }
        words.push_str(word);
        after_placeholder = true;
    }
    words
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_template_splits_into_its_pieces() {
        let all: Vec<_> = pieces("v0:{timestamp}:{body}")
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            all,
            [
                Piece::Text("v0:"),
                Piece::Timestamp,
                Piece::Text(":"),
                Piece::Body
            ]
        );
        assert_eq!(describe("{id}.{timestamp}.{body}"), "id.timestamp.body");
        assert_eq!(describe("{body}{url}"), "body + url");
    }

    #[test]
    fn a_template_is_refused_for_what_it_gets_wrong() {
        assert_eq!(check("{body}", false, false), Ok(()));
        assert_eq!(check("{timestamp}.{body}", true, false), Ok(()));
        assert_eq!(check("{timestamp}", true, false), Err(TemplateError::Body));
        assert_eq!(
            check("{body}{body}", false, false),
            Err(TemplateError::Body)
        );
        assert_eq!(
            check("{nonce}{body}", false, false),
            Err(TemplateError::Unknown)
        );
        assert_eq!(check("{body", false, false), Err(TemplateError::Unclosed));
        assert_eq!(check("{body}", true, false), Err(TemplateError::Timestamp));
        assert_eq!(
            check("{timestamp}{body}", false, false),
            Err(TemplateError::Timestamp)
        );
        assert_eq!(check("{id}.{body}", false, false), Err(TemplateError::Id));
        assert_eq!(check("{id}.{body}", false, true), Ok(()));
    }
}
