//! The signatures of a header that may carry several (a rotation, or other versions beside
//! ours): each entry is decoded on its own, and one that is not well formed is set aside rather
//! than failing the header, as the providers' own SDKs do. Only when no entry is usable is the
//! header malformed, with the first entry's reason.

use super::{Encoding, SignatureError};

/// A header of more signatures than this is far beyond any provider's rotation: refuse it rather
/// than compute that many comparisons.
pub(crate) const MAX_SIGNATURES: usize = 16;

pub(crate) struct Entries {
    field: &'static str,
    /// How many entries are read at most: [`MAX_SIGNATURES`] unless the provider sends more.
    limit: usize,
    seen: usize,
    signatures: Vec<Vec<u8>>,
    first_problem: Option<SignatureError>,
}

impl Entries {
    pub(crate) fn new(field: &'static str) -> Self {
        Self::with_limit(field, MAX_SIGNATURES)
    }

    /// For a provider that itself sends more than [`MAX_SIGNATURES`] (DocuSign: one header per
    /// key, up to 100 keys).
    pub(crate) fn with_limit(field: &'static str, limit: usize) -> Self {
        Self {
            field,
            limit,
            seen: 0,
            signatures: Vec::new(),
            first_problem: None,
        }
    }

    /// One signature as written, kept if usable. `length` is the only length it may have, where
    /// one is known; `wrong_length` says why another is refused. Errs only past
    /// the limit.
    pub(crate) fn offer(
        &mut self,
        encoding: Encoding,
        text: &str,
        length: Option<(usize, &'static str)>,
    ) -> Result<(), SignatureError> {
        if let Some(signature) = self.accept(encoding, text, length)? {
            self.signatures.push(signature);
        }
        Ok(())
    }

    /// As [`Entries::offer`], handing a usable signature back to a caller that sorts them by kind.
    pub(crate) fn accept(
        &mut self,
        encoding: Encoding,
        text: &str,
        length: Option<(usize, &'static str)>,
    ) -> Result<Option<Vec<u8>>, SignatureError> {
        if self.seen == self.limit {
            return Err(SignatureError::Malformed {
                field: self.field,
                why: "too many signatures",
            });
        }
        self.seen += 1;
        match encoding.decode(self.field, text) {
            Ok(bytes) => match length {
                Some((expected, why)) if bytes.len() != expected => {
                    self.set_aside(why);
                    Ok(None)
                }
                _ => Ok(Some(bytes)),
            },
            Err(problem) => {
                self.note(problem);
                Ok(None)
            }
        }
    }

    /// An entry that is not even laid out as one: kept only as the reason, should nothing else
    /// be usable.
    pub(crate) fn set_aside(&mut self, why: &'static str) {
        self.note(SignatureError::Malformed {
            field: self.field,
            why,
        });
    }

    fn note(&mut self, problem: SignatureError) {
        self.first_problem.get_or_insert(problem);
    }

    /// The usable signatures; none is malformed, with the first entry's reason or `nothing`.
    pub(crate) fn finish(self, nothing: &'static str) -> Result<Vec<Vec<u8>>, SignatureError> {
        if !self.signatures.is_empty() {
            return Ok(self.signatures);
        }
        Err(self.problem(nothing))
    }

    /// Why nothing was usable: the first entry's reason, else `nothing`.
    pub(crate) fn problem(self, nothing: &'static str) -> SignatureError {
        self.first_problem.unwrap_or(SignatureError::Malformed {
            field: self.field,
            why: nothing,
        })
    }
}
