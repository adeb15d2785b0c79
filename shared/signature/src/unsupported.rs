//! Providers people ask for that Inlet does not take, each with the reason, so `inlet providers`
//! and a config naming one can say why instead of "unknown scheme".

use serde::Serialize;

/// A provider Inlet does not verify, and why.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Unsupported {
    /// The name a config would use for it.
    pub name: &'static str,
    pub title: &'static str,
    pub docs: &'static str,
    pub why: &'static str,
}

/// Those that verify only with an outbound call (a certificate or key fetched per delivery, or
/// the provider's API asked) wait for ingest to make one with the URL held to the provider's own
/// hosts, the key cached and a timeout that never holds the 202; those that sign nothing have no
/// way for Inlet to tell their deliveries from anyone's.
pub static UNSUPPORTED: &[Unsupported] = &[
    Unsupported {
        name: "aws-sns",
        title: "Amazon SNS (HTTP/S subscriptions)",
        docs: "https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html",
        why: "each message is signed with a certificate fetched from its SigningCertURL: an \
              outbound call from ingest, which it does not make yet",
    },
    Unsupported {
        name: "bigcommerce",
        title: "BigCommerce",
        docs: "https://developer.bigcommerce.com/docs/integrations/webhooks",
        why: "hooks are not signed; they carry only the headers set when the hook is created: \
              put a long random value in one and use scheme \"token\" with that header",
    },
    Unsupported {
        name: "google-pubsub",
        title: "Google Cloud Pub/Sub (push subscriptions)",
        docs: "https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions",
        why: "a push carries an OIDC token whose keys come from Google's JWKS: an outbound call \
              from ingest, which it does not make yet",
    },
    Unsupported {
        name: "microsoft-graph",
        title: "Microsoft Graph change notifications",
        docs: "https://learn.microsoft.com/en-us/graph/change-notifications-with-resource-data",
        why: "notifications are proved by validation tokens (JWTs) whose keys come from \
              Microsoft's JWKS, an outbound call; the plain clientState is only a shared token",
    },
    Unsupported {
        name: "paypal",
        title: "PayPal",
        docs: "https://developer.paypal.com/api/rest/webhooks/",
        why: "a delivery is verified with a certificate fetched from its paypal-cert-url, or by \
              asking PayPal's API with the app's credentials: outbound calls from ingest, which \
              it does not make yet",
    },
    Unsupported {
        name: "plaid",
        title: "Plaid",
        docs: "https://plaid.com/docs/api/webhooks/webhook-verification/",
        why: "the JWT in Plaid-Verification is checked with a key fetched from Plaid's API with \
              the client's credentials: an outbound, authenticated call from ingest",
    },
    Unsupported {
        name: "mailchimp",
        title: "Mailchimp (Marketing API webhooks)",
        docs: "https://mailchimp.com/developer/marketing/guides/sync-audience-data-webhooks/",
        why: "deliveries carry no signature; the only secret would sit in the URL's query, \
              which API Gateway logs and Inlet does not treat as a credential",
    },
    Unsupported {
        name: "strava",
        title: "Strava",
        docs: "https://developers.strava.com/docs/webhooks/",
        why: "events carry no signature or token: only the subscription's handshake is \
              checked, so nothing tells Strava's deliveries from anyone's",
    },
];

/// The entry for `name`, if Inlet lists it as not supported.
pub fn find(name: &str) -> Option<&'static Unsupported> {
    UNSUPPORTED.iter().find(|u| u.name == name)
}
