//! Enrolment: some providers hand their signing secret over in a request nothing authenticates
//! (Asana's `X-Hook-Secret`, Notion's `verification_token`). Inlet takes such a secret only when
//! the target URL registered with the provider carries `?inlet_enrol=<token>`, the source's
//! handshake secret, compared in constant time: the token is known only to whoever set the
//! webhook up, so nobody else can install a secret of their choosing.

use crate::challenge::query_value;
use crate::{Delivery, Key, SignatureError, token};

/// The query parameter that carries the enrolment token.
pub(crate) const PARAMETER: &str = "inlet_enrol";

/// Whether the request carries one of `keys` as its enrolment token.
pub(crate) fn check(delivery: &Delivery<'_>, keys: &[Key]) -> Result<(), SignatureError> {
    let enrol = query_value(delivery.query.unwrap_or(""), PARAMETER)?
        .ok_or(SignatureError::Missing(PARAMETER))?;
    token::matches_any(keys, enrol.as_bytes())
}
