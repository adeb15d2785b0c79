//! Developer tools, CI and infrastructure providers.

use super::hmac;
use crate::crypto::{Algorithm, Encoding};
use crate::custom::CustomScheme;
use crate::layout::Layout;
use crate::provider::{How, Provider};
use crate::stamp::TimeFormat;

pub(crate) static ROWS: &[Provider] = &[
    Provider {
        name: "buildkite",
        aliases: &[],
        title: "Buildkite (Pipelines and Package Registries webhooks)",
        docs: "https://buildkite.com/docs/apis/webhooks/pipelines#webhook-signature",
        handshake: None,
        json_body: true,
        informative_headers: &["x-buildkite-event"],
        // The webhook's token can instead travel in clear as `X-Buildkite-Token`; the signature
        // is the mode chosen here, as it never sends the token itself.
        official_vectors: true,
        how: How::Hmac(CustomScheme {
            layout: Layout::Stamped {
                separator: ',',
                timestamp: "timestamp",
                signature: "signature",
            },
            signed: "{timestamp}.{body}",
            type_header: Some("x-buildkite-event"),
            ..hmac("x-buildkite-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "circleci",
        aliases: &[],
        title: "CircleCI (outbound webhooks)",
        docs: "https://circleci.com/docs/webhooks/#validate-webhooks",
        handshake: None,
        json_body: true,
        informative_headers: &["circleci-event-type"],
        // The header is a comma-separated list of versioned signatures; only `v1` exists so far,
        // and entries of other versions are set aside rather than trusted.
        official_vectors: true,
        how: How::Hmac(CustomScheme {
            prefix: "v1=",
            layout: Layout::List { separator: ',' },
            id_pointer: Some("/id"),
            type_header: Some("circleci-event-type"),
            ..hmac("circleci-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "jira",
        aliases: &["jira-cloud"],
        title: "Jira Cloud (admin webhooks with a secret)",
        docs: "https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks",
        handshake: None,
        json_body: true,
        informative_headers: &[
            "x-atlassian-webhook-identifier",
            "x-atlassian-webhook-flow",
            "x-atlassian-webhook-retry",
        ],
        // Only admin webhooks registered with a secret are signed this way; those an OAuth or
        // Connect app registers carry a JWT instead and do not verify here.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            prefix: "sha256=",
            id_header: Some("x-atlassian-webhook-identifier"),
            type_pointer: Some("/webhookEvent"),
            ..hmac("x-hub-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "launchdarkly",
        aliases: &[],
        title: "LaunchDarkly",
        docs: "https://launchdarkly.com/docs/home/infrastructure/webhooks#sign-a-webhook",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // The payload is an audit log entry: its `_id` names it and `kind` the resource changed.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            id_pointer: Some("/_id"),
            type_pointer: Some("/kind"),
            ..hmac("x-ld-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "sanity",
        aliases: &[],
        title: "Sanity (GROQ-powered webhooks)",
        docs: "https://www.sanity.io/docs/webhooks",
        handshake: None,
        // The body is whatever the webhook's GROQ projection makes of the document.
        json_body: false,
        informative_headers: &[],
        // Stripe's `t=…,v1=…` shape, but the time counts milliseconds and the digest is
        // unpadded base64url.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            layout: Layout::T_V1,
            timestamp_format: TimeFormat::Millis,
            signed: "{timestamp}.{body}",
            ..hmac(
                "sanity-webhook-signature",
                Algorithm::Sha256,
                Encoding::Base64Url,
            )
        }),
    },
    Provider {
        name: "terraform-cloud",
        aliases: &["hcp-terraform", "terraform-enterprise"],
        title: "HCP Terraform and Terraform Enterprise (generic notifications)",
        docs: "https://developer.hashicorp.com/terraform/cloud-docs/api-docs/notification-configurations#notification-authenticity",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // Signed with HMAC-SHA512, unlike most. Run notifications name their trigger inside a
        // one-element `notifications` list; the first is the one HCP Terraform sends today.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            type_pointer: Some("/notifications/0/trigger"),
            ..hmac(
                "x-tfe-notification-signature",
                Algorithm::Sha512,
                Encoding::Hex,
            )
        }),
    },
    Provider {
        name: "sonatype-nexus",
        aliases: &["nexus-repository"],
        title: "Sonatype Nexus Repository",
        docs: "https://help.sonatype.com/en/example-headers-and-payloads.html",
        handshake: None,
        json_body: true,
        informative_headers: &["x-nexus-webhook-id", "x-nexus-webhook-delivery"],
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            id_header: Some("x-nexus-webhook-delivery"),
            type_header: Some("x-nexus-webhook-id"),
            ..hmac("x-nexus-webhook-signature", Algorithm::Sha1, Encoding::Hex)
        }),
    },
    Provider {
        name: "mongodb-atlas",
        aliases: &[],
        title: "MongoDB Atlas (alert webhooks)",
        docs: "https://www.mongodb.com/docs/atlas/tutorial/webhook-integration/",
        handshake: None,
        // A FreeMarker body template may render something other than the alert document.
        json_body: false,
        informative_headers: &["x-mms-event"],
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            id_pointer: Some("/id"),
            type_header: Some("x-mms-event"),
            ..hmac("x-mms-signature", Algorithm::Sha1, Encoding::Base64)
        }),
    },
    Provider {
        name: "autodesk",
        aliases: &["autodesk-aps", "autodesk-forge"],
        title: "Autodesk Platform Services (Webhooks API)",
        docs: "https://aps.autodesk.com/en/docs/webhooks/v1/tutorials/how-to-verify-payload-signature/",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // Keyed with the secret token set through the Webhooks API, not an OAuth credential.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            prefix: "sha1hash=",
            type_pointer: Some("/hook/event"),
            ..hmac("x-adsk-signature", Algorithm::Sha1, Encoding::Hex)
        }),
    },
    Provider {
        name: "tailscale",
        aliases: &[],
        title: "Tailscale",
        docs: "https://tailscale.com/kb/1213/webhooks#verifying-an-event-signature",
        handshake: None,
        // A delivery is a JSON array of events, batched.
        json_body: false,
        informative_headers: &[],
        // A retry keeps its first timestamp, so one delayed past the window is refused.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            layout: Layout::T_V1,
            signed: "{timestamp}.{body}",
            ..hmac(
                "tailscale-webhook-signature",
                Algorithm::Sha256,
                Encoding::Hex,
            )
        }),
    },
    Provider {
        name: "heroku",
        aliases: &[],
        title: "Heroku (app webhooks)",
        docs: "https://devcenter.heroku.com/articles/app-webhooks#securing-webhook-requests",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        official_vectors: false,
        how: How::Hmac(hmac(
            "heroku-webhook-hmac-sha256",
            Algorithm::Sha256,
            Encoding::Base64,
        )),
    },
    Provider {
        name: "doppler",
        aliases: &[],
        title: "Doppler",
        docs: "https://docs.doppler.com/docs/webhooks#verify-webhook-with-request-signing",
        handshake: None,
        // A webhook may be given a custom payload, any JSON, sent instead of the default event.
        json_body: false,
        informative_headers: &[],
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            prefix: "sha256=",
            type_pointer: Some("/type"),
            ..hmac("x-doppler-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "gitbook",
        aliases: &[],
        title: "GitBook (Webhook integration)",
        docs: "https://gitbook.com/docs/developers/integrations/guides/webhook",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // Retries resend the first timestamp and signature, a few seconds later at most.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            layout: Layout::T_V1,
            signed: "{timestamp}.{body}",
            id_pointer: Some("/eventId"),
            type_pointer: Some("/type"),
            ..hmac("x-gitbook-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
    Provider {
        name: "trend-micro-conformity",
        aliases: &["cloud-one-conformity"],
        title: "Trend Micro Cloud One Conformity (webhook channel)",
        docs: "https://docs.trendmicro.com/en-us/documentation/article/trend-micro-cloud-one-conformity-webhook-communication",
        handshake: None,
        json_body: true,
        informative_headers: &[],
        // Keyed with the channel's security token as text; Conformity only accepts base64
        // characters in it, but does not decode it.
        official_vectors: false,
        how: How::Hmac(hmac(
            "x-trendmicro-signature",
            Algorithm::Sha256,
            Encoding::Hex,
        )),
    },
    Provider {
        name: "sourcegraph",
        aliases: &[],
        title: "Sourcegraph (outgoing webhooks)",
        docs: "https://sourcegraph.com/docs/admin/config/webhooks/outgoing",
        handshake: None,
        json_body: true,
        informative_headers: &["x-sourcegraph-webhook-event-type"],
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            type_header: Some("x-sourcegraph-webhook-event-type"),
            ..hmac(
                "x-sourcegraph-webhook-signature",
                Algorithm::Sha256,
                Encoding::Hex,
            )
        }),
    },
    Provider {
        name: "sonarqube",
        aliases: &["sonarqube-cloud", "sonarcloud"],
        title: "SonarQube Server and SonarQube Cloud",
        docs: "https://docs.sonarsource.com/sonarqube-server/project-administration/integrations/webhooks/",
        handshake: None,
        json_body: true,
        informative_headers: &["x-sonarqube-project"],
        // Every delivery reports one analysis: its background task id names it, and there is no
        // event type to speak of.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            id_pointer: Some("/taskId"),
            ..hmac(
                "x-sonar-webhook-hmac-sha256",
                Algorithm::Sha256,
                Encoding::Hex,
            )
        }),
    },
    Provider {
        name: "grafana",
        aliases: &["grafana-alerting"],
        title: "Grafana Alerting (webhook contact point)",
        docs: "https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/",
        handshake: None,
        // A custom payload template may render something other than the default JSON.
        json_body: false,
        informative_headers: &[],
        // The contact point's default signature header with no timestamp header, Grafana's
        // default. One renamed, or given a timestamp header (then `timestamp:body` is signed),
        // is a configured `hmac` source instead.
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            type_pointer: Some("/status"),
            ..hmac(
                "x-grafana-alerting-signature",
                Algorithm::Sha256,
                Encoding::Hex,
            )
        }),
    },
    Provider {
        name: "snyk",
        aliases: &[],
        title: "Snyk (webhooks API)",
        docs: "https://docs.snyk.io/snyk-api/snyk-webhooks/validation-and-versioning-of-payloads",
        handshake: None,
        json_body: true,
        informative_headers: &["x-snyk-event"],
        // The event header carries the payload version too (`project_snapshot/v0`).
        official_vectors: false,
        how: How::Hmac(CustomScheme {
            prefix: "sha256=",
            type_header: Some("x-snyk-event"),
            ..hmac("x-hub-signature", Algorithm::Sha256, Encoding::Hex)
        }),
    },
];
