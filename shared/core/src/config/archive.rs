//! `[archive]`: keeping every verified delivery's envelope in S3 (optional, per deployment).

use super::error::{Problem, invalid};
use super::raw::RawArchive;

/// Where claim checks (payloads beyond the queue's limit) are kept in the payload bucket; the
/// archive must stay out of it, since the bucket expires `claims/` within days.
pub const CLAIMS_PREFIX: &str = "claims/";

/// `[archive]` as validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveSettings {
    /// The bucket, when the config names one; otherwise the deployment's payload bucket
    /// (`INLET_BUCKET`, which template.yaml sets), resolved at start-up.
    pub bucket: Option<String>,
    /// Key prefix of every archived object: ends in `/`.
    pub prefix: String,
}

impl ArchiveSettings {
    pub const DEFAULT_PREFIX: &str = "archive/";
}

impl RawArchive {
    pub(super) fn validate(self) -> Result<ArchiveSettings, Problem> {
        if let Some(bucket) = &self.bucket {
            check_bucket_name("archive.bucket", bucket)?;
        }
        let prefix = self
            .prefix
            .unwrap_or_else(|| ArchiveSettings::DEFAULT_PREFIX.to_owned());
        check_prefix("archive.prefix", &prefix)?;
        Ok(ArchiveSettings {
            bucket: self.bucket,
            prefix,
        })
    }
}

/// S3's bucket naming rules (general purpose buckets): 3–63 characters of lower-case letters,
/// digits, `.` and `-`, starting and ending with a letter or digit, no `..`.
pub(super) fn check_bucket_name(key: &str, name: &str) -> Result<(), Problem> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-';
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let valid = (3..=63).contains(&name.len())
        && name.chars().all(allowed)
        && edge(name.chars().next())
        && edge(name.chars().last())
        && !name.contains("..");
    if valid {
        Ok(())
    } else {
        Err(invalid(
            key,
            format!(
                "`{name}` is not an S3 bucket name: 3 to 63 lower-case letters, digits, `.` \
                 and `-`, starting and ending with a letter or digit"
            ),
        ))
    }
}

fn check_prefix(key: &str, prefix: &str) -> Result<(), Problem> {
    if prefix.is_empty() || !prefix.ends_with('/') || prefix.starts_with('/') {
        return Err(invalid(
            key,
            "must be a key prefix ending in `/` and not starting with one, as in `archive/`",
        ));
    }
    if !prefix.chars().all(|c| c.is_ascii_graphic()) {
        return Err(invalid(
            key,
            "must be printable ASCII without spaces (it is part of every object key)",
        ));
    }
    // The bucket's lifecycle expires claim checks within days: an archive there would vanish.
    if prefix.starts_with(CLAIMS_PREFIX) || CLAIMS_PREFIX.starts_with(prefix) {
        return Err(invalid(
            key,
            format!("must not overlap `{CLAIMS_PREFIX}`, where claim checks are kept and expire"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_refused, validated};
    use super::*;

    const GITHUB: &str = "[sources.github]\nscheme = \"github\"\nsecrets = [\"env:GH\"]\n";

    #[test]
    fn no_section_no_archive() {
        assert_eq!(validated(GITHUB).unwrap().archive, None);
    }

    #[test]
    fn an_empty_section_archives_under_the_default_prefix_of_the_deployments_bucket() {
        let config = validated(&format!("{GITHUB}[archive]\n")).unwrap();
        assert_eq!(
            config.archive,
            Some(ArchiveSettings {
                bucket: None,
                prefix: "archive/".into()
            })
        );
    }

    #[test]
    fn bucket_and_prefix_are_taken_as_written() {
        let config = validated(&format!(
            "{GITHUB}[archive]\nbucket = \"acme-inlet.archive\"\nprefix = \"events/prod/\"\n"
        ))
        .unwrap();
        assert_eq!(
            config.archive,
            Some(ArchiveSettings {
                bucket: Some("acme-inlet.archive".into()),
                prefix: "events/prod/".into()
            })
        );
    }

    #[test]
    fn refusals_name_the_key() {
        let archive = |line: &str| format!("{GITHUB}[archive]\n{line}\n");
        for (line, key) in [
            ("bucket = \"Inlet\"", "archive.bucket"),
            ("bucket = \"ab\"", "archive.bucket"),
            ("bucket = \"-inlet\"", "archive.bucket"),
            ("bucket = \"inlet..x\"", "archive.bucket"),
            ("bucket = \"inlet_payloads\"", "archive.bucket"),
            ("prefix = \"\"", "archive.prefix"),
            ("prefix = \"archive\"", "archive.prefix"),
            ("prefix = \"/archive/\"", "archive.prefix"),
            ("prefix = \"my archive/\"", "archive.prefix"),
            ("prefix = \"claims/\"", "archive.prefix"),
            ("prefix = \"claims/archive/\"", "archive.prefix"),
            ("retention_days = 30", "retention_days"),
        ] {
            assert_refused(&archive(line), key);
        }
    }
}
