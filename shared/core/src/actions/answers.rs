//! What a forward's target answered, for a caller that wants to show it: `inlet dev`'s inspector
//! puts the target's status and the start of its body next to each attempt.
//!
//! Only inside [`capture`] is a body read at all; a Lambda never calls it, so a forward there
//! reads nothing it would not otherwise read and keeps nothing.

use std::cell::RefCell;
use std::future::Future;

/// How much of a target's answer body is kept: enough to read an error page's message.
pub const ANSWER_BODY_BYTES: usize = 4096;

/// One HTTP answer from a forward's target.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TargetAnswer {
    pub status: u16,
    /// The body's first [`ANSWER_BODY_BYTES`] bytes, as text (invalid UTF-8 replaced).
    pub body: String,
    /// Whether the body went on past what is kept.
    pub truncated: bool,
}

tokio::task_local! {
    static ANSWERS: RefCell<Vec<TargetAnswer>>;
}

/// Runs `work`, keeping every target answer a forward inside it gets, in order.
pub async fn capture<F: Future>(work: F) -> (F::Output, Vec<TargetAnswer>) {
    ANSWERS
        .scope(RefCell::new(Vec::new()), async move {
            let output = work.await;
            let answers = ANSWERS.with(|answers| answers.take());
            (output, answers)
        })
        .await
}

/// Whether the running task is inside [`capture`]: only then is an answer body worth reading.
pub(crate) fn capturing() -> bool {
    ANSWERS.try_with(|_| ()).is_ok()
}

/// Keeps an answer for the [`capture`] around the running task, if any.
pub(crate) fn keep(answer: TargetAnswer) {
    let _ = ANSWERS.try_with(|answers| answers.borrow_mut().push(answer));
}

/// Reads at most [`ANSWER_BODY_BYTES`] of a response's body. A body that fails part-way is kept
/// as far as it came: the status already says what the target meant.
pub(crate) async fn read_bounded(mut response: reqwest::Response) -> (String, bool) {
    let mut body = Vec::new();
    let mut truncated = false;
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = ANSWER_BODY_BYTES - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            truncated = true;
            break;
        }
        body.extend_from_slice(&chunk);
    }
    (String::from_utf8_lossy(&body).into_owned(), truncated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn answers_are_kept_only_inside_capture() {
        let answer = TargetAnswer {
            status: 503,
            body: "down".into(),
            truncated: false,
        };
        assert!(!capturing());
        keep(answer.clone());
        let (value, answers) = capture(async {
            assert!(capturing());
            keep(answer.clone());
            7
        })
        .await;
        assert_eq!(value, 7);
        assert_eq!(answers, [answer]);
    }
}
