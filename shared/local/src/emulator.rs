//! The SDK config for an AWS emulator, shared by every command that talks to the local stack.

/// Whether `url` names this machine, so nothing sent there can leave it.
pub fn is_loopback_url(url: &str) -> bool {
    match url::Url::parse(url).ok().as_ref().and_then(url::Url::host) {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The SDK config from the environment, as the functions load it. Against an emulator on this
/// machine, a region and credentials that the environment and profile files do not give
/// default to us-east-1 and dummy keys: emulators accept any, and `make dev` then needs no AWS
/// setup. Anywhere else nothing is made up, so real AWS is never reached with a guess.
pub async fn sdk_config() -> aws_config::SdkConfig {
    sdk_config_at(None, None).await
}

/// [`sdk_config`] pointed at `endpoint` (and `region`, when given) instead of what
/// `AWS_ENDPOINT_URL` says: how the commands reach the stack `inlet dev` recorded in its state
/// file, without changing the process's environment under the SDK.
pub async fn sdk_config_at(endpoint: Option<&str>, region: Option<&str>) -> aws_config::SdkConfig {
    use aws_config::environment::{
        EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider,
    };
    use aws_config::meta::credentials::CredentialsProviderChain;
    use aws_config::meta::region::RegionProviderChain;
    use aws_config::profile::{ProfileFileCredentialsProvider, ProfileFileRegionProvider};

    let endpoint = endpoint
        .map(str::to_owned)
        .unwrap_or_else(|| std::env::var("AWS_ENDPOINT_URL").unwrap_or_default());
    let mut loader = inlet_aws::sdk_loader();
    if !endpoint.is_empty() {
        loader = loader.endpoint_url(&endpoint);
    }
    if let Some(region) = region {
        loader = loader.region(aws_config::Region::new(region.to_owned()));
    }
    if is_loopback_url(&endpoint) {
        // The default chains would also ask the EC2 metadata service, which is slow to fail
        // off EC2 and pointless for an emulator.
        let region_given = region.is_some();
        let region_chain = RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
            .or_else(ProfileFileRegionProvider::new())
            .or_else(Some(aws_config::Region::new("us-east-1")));
        let dummy = aws_sdk_sqs::config::Credentials::new(
            "inlet-local",
            "inlet-local",
            None,
            None,
            "inlet-local-emulator",
        );
        let credentials = CredentialsProviderChain::first_try(
            "Environment",
            EnvironmentVariableCredentialsProvider::new(),
        )
        .or_else(
            "Profile",
            // The profile provider builds an IMDS client for `credential_source`; without the
            // SDK's default HTTPS client it must be handed ours, or building it panics.
            ProfileFileCredentialsProvider::builder()
                .configure(
                    &aws_config::provider_config::ProviderConfig::default()
                        .with_http_client(inlet_aws::http_client()),
                )
                .build(),
        )
        .or_else("LocalEmulator", dummy);
        if region_given {
            loader = loader.credentials_provider(credentials);
        } else {
            loader = loader
                .region(region_chain)
                .credentials_provider(credentials);
        }
    }
    loader.load().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls_are_recognised() {
        for url in [
            "http://127.0.0.1:5000",
            "http://localhost:4566/",
            "http://[::1]:9000",
            "http://127.8.9.10",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "",
            "https://sqs.us-east-1.amazonaws.com",
            "http://10.0.0.5:4566",
            "http://localhost.example.com",
            "not a url",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }
}
