//! What the server is configured with, from flags and environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

use crate::assets::StaticMount;
use crate::Error;

/// The longest an upload token may live, in seconds (24 h, `API.md`).
pub const MAX_TOKEN_TTL_SECS: u64 = 86_400;

/// Everything the server needs to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where to listen; `serve` replaces a port of 0 with the port it got.
    pub addr: SocketAddr,
    /// Holds `aura.sqlite3` and `uploads/`; created when missing.
    pub data_dir: PathBuf,
    /// Origins (`scheme://host[:port]`) browsers may call from; `None` means
    /// this server's own origin plus `http://127.0.0.1:8081` and
    /// `http://localhost:8081` (`trunk serve`); `"*"` in the list allows any.
    pub allowed_origins: Option<Vec<String>>,
    /// The URL clients reach this server at (no trailing `/`), used in
    /// `lift.endpoint`, tus `Location`s and viewer links; `None` means
    /// `http://<addr>`.
    pub public_url: Option<String>,
    /// Directories of static files (the demo page) served for GET requests
    /// that no API route takes; none by default.
    pub static_mounts: Vec<StaticMount>,
    /// Sizes, lifetimes and rates.
    pub limits: Limits,
}

/// Sizes, lifetimes and rate limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest single upload in bytes: the lift token's `maxSize` and `Tus-Max-Size`.
    pub max_upload_bytes: u64,
    /// Storage quota per project, in bytes, over all live uploads (402 past it).
    pub quota_bytes: u64,
    /// Longest upload-token TTL `auth/exchange` grants, in seconds (at most 24 h).
    pub max_token_ttl_secs: u64,
    /// Lifetime of a lift token from `uploader/config`, in seconds.
    pub lift_token_ttl_secs: u64,
    /// An unfinished tus upload expires this long after its last write, in seconds.
    pub upload_expiry_secs: u64,
    /// Lifetime of a viewer link's serve token, in seconds (clamped to 60 s … 7 days).
    pub viewer_link_ttl_secs: u64,
    /// A PATCH whose body sends nothing for this long is ended, in seconds;
    /// what arrived is kept.
    pub patch_idle_timeout_secs: u64,
    /// `auth/exchange` calls per minute per app.
    pub exchange_per_minute: u32,
    /// `uploader/config` calls per minute per upload token.
    pub config_per_minute: u32,
    /// Upload lifecycle, manage and viewer-link calls per minute per credential.
    pub lifecycle_per_minute: u32,
    /// tus requests per minute per lift token.
    pub tus_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_upload_bytes: 5 * 1024 * 1024 * 1024,
            quota_bytes: 50 * 1024 * 1024 * 1024,
            max_token_ttl_secs: MAX_TOKEN_TTL_SECS,
            lift_token_ttl_secs: 86_400,
            upload_expiry_secs: 86_400,
            viewer_link_ttl_secs: 86_400,
            patch_idle_timeout_secs: 60,
            exchange_per_minute: 10,
            config_per_minute: 30,
            lifecycle_per_minute: 60,
            tus_per_minute: 600,
        }
    }
}

impl Config {
    /// The defaults (`127.0.0.1:8080`, default limits) with data in `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: data_dir.into(),
            allowed_origins: None,
            public_url: None,
            static_mounts: Vec::new(),
            limits: Limits::default(),
        }
    }

    /// The public base URL without a trailing `/`.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.addr),
        }
    }

    /// Checks that the settings can work together.
    pub fn validate(&self) -> Result<(), Error> {
        if self.limits.max_token_ttl_secs == 0
            || self.limits.max_token_ttl_secs > MAX_TOKEN_TTL_SECS
        {
            return Err(Error::Config(format!(
                "token ttl cap must be between 1 and {MAX_TOKEN_TTL_SECS} seconds"
            )));
        }
        if let Some(url) = &self.public_url {
            aura_hmac::host_of_url(url).map_err(|_| {
                Error::Config(format!(
                    "public url {url:?} is not an absolute http(s) url; pass e.g. http://127.0.0.1:8080"
                ))
            })?;
        }
        let rates = [
            self.limits.exchange_per_minute,
            self.limits.config_per_minute,
            self.limits.lifecycle_per_minute,
            self.limits.tus_per_minute,
        ];
        if rates.contains(&0) {
            return Err(Error::Config(
                "rate limits must be at least 1 per minute".to_owned(),
            ));
        }
        if self.limits.patch_idle_timeout_secs == 0 {
            return Err(Error::Config(
                "patch idle timeout must be at least 1 second".to_owned(),
            ));
        }
        Ok(())
    }
}

/// The command line of `auraloader-server`; every flag also reads an
/// `AURALOADER_…` environment variable.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "auraloader-server",
    version,
    about = "Local Aura API for development: token exchange, uploader endpoints and a tus endpoint"
)]
pub struct Cli {
    /// Address to listen on.
    #[arg(long, env = "AURALOADER_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Directory for the database and the uploaded bytes.
    #[arg(long, env = "AURALOADER_DATA_DIR", default_value = "auraloader-data")]
    pub data_dir: PathBuf,
    /// Comma-separated origins browsers may call from, or `*` for any
    /// [default: this server's origin, http://127.0.0.1:8081, http://localhost:8081].
    #[arg(long, env = "AURALOADER_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Option<Vec<String>>,
    /// URL clients reach the server at [default: http://<addr>].
    #[arg(long, env = "AURALOADER_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Largest single upload, in bytes.
    #[arg(long, env = "AURALOADER_MAX_UPLOAD_SIZE", default_value_t = Limits::default().max_upload_bytes)]
    pub max_upload_size: u64,
    /// Storage quota per project, in bytes.
    #[arg(long, env = "AURALOADER_QUOTA", default_value_t = Limits::default().quota_bytes)]
    pub quota: u64,
    /// Longest upload-token TTL granted, in seconds (at most 86400).
    #[arg(long, env = "AURALOADER_TOKEN_TTL_CAP", default_value_t = MAX_TOKEN_TTL_SECS)]
    pub token_ttl_cap: u64,
    /// Lifetime of lift tokens, in seconds.
    #[arg(long, env = "AURALOADER_LIFT_TOKEN_TTL", default_value_t = Limits::default().lift_token_ttl_secs)]
    pub lift_token_ttl: u64,
    /// Unfinished uploads expire this many seconds after their last write.
    #[arg(long, env = "AURALOADER_UPLOAD_EXPIRY", default_value_t = Limits::default().upload_expiry_secs)]
    pub upload_expiry: u64,
    /// Lifetime of viewer links, in seconds.
    #[arg(long, env = "AURALOADER_VIEWER_LINK_TTL", default_value_t = Limits::default().viewer_link_ttl_secs)]
    pub viewer_link_ttl: u64,
    /// `auth/exchange` calls per minute per app.
    #[arg(long, env = "AURALOADER_RATE_EXCHANGE", default_value_t = Limits::default().exchange_per_minute)]
    pub rate_exchange: u32,
    /// `uploader/config` calls per minute per token.
    #[arg(long, env = "AURALOADER_RATE_CONFIG", default_value_t = Limits::default().config_per_minute)]
    pub rate_config: u32,
    /// Lifecycle calls per minute per token.
    #[arg(long, env = "AURALOADER_RATE_LIFECYCLE", default_value_t = Limits::default().lifecycle_per_minute)]
    pub rate_lifecycle: u32,
    /// tus requests per minute per lift token.
    #[arg(long, env = "AURALOADER_RATE_TUS", default_value_t = Limits::default().tus_per_minute)]
    pub rate_tus: u32,
    /// Static files to serve, as DIR (at /) or /PREFIX=DIR; repeatable or
    /// comma-separated, e.g. `dist/demo,/npm=dist/npm`.
    #[arg(long = "static", env = "AURALOADER_STATIC", value_delimiter = ',')]
    pub static_mounts: Vec<StaticMount>,
    /// Print the demo credentials at start, not only on the first start.
    #[arg(long)]
    pub print_credentials: bool,
}

impl Cli {
    /// The configuration these flags describe.
    pub fn config(&self) -> Config {
        let defaults = Limits::default();
        Config {
            addr: self.addr,
            data_dir: self.data_dir.clone(),
            allowed_origins: self.allowed_origins.as_ref().map(|list| {
                list.iter()
                    .map(|o| o.trim().to_owned())
                    .filter(|o| !o.is_empty())
                    .collect()
            }),
            public_url: self.public_url.clone(),
            static_mounts: self.static_mounts.clone(),
            limits: Limits {
                max_upload_bytes: self.max_upload_size,
                quota_bytes: self.quota,
                max_token_ttl_secs: self.token_ttl_cap,
                lift_token_ttl_secs: self.lift_token_ttl,
                upload_expiry_secs: self.upload_expiry,
                viewer_link_ttl_secs: self.viewer_link_ttl,
                exchange_per_minute: self.rate_exchange,
                config_per_minute: self.rate_config,
                lifecycle_per_minute: self.rate_lifecycle,
                tus_per_minute: self.rate_tus,
                ..defaults
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_default_to_loopback_8080_and_the_spec_rates() {
        let cli = Cli::try_parse_from(["auraloader-server"]).unwrap();
        let config = cli.config();
        assert_eq!(config.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(config.public_url(), "http://127.0.0.1:8080");
        assert_eq!(config.limits.exchange_per_minute, 10);
        assert_eq!(config.limits.config_per_minute, 30);
        assert_eq!(config.limits.lifecycle_per_minute, 60);
        assert_eq!(config.limits.max_token_ttl_secs, 86_400);
        config.validate().unwrap();
    }

    #[test]
    fn origins_are_comma_separated() {
        let cli = Cli::try_parse_from([
            "auraloader-server",
            "--allowed-origins",
            "http://a.test, http://b.test:8000",
        ])
        .unwrap();
        assert_eq!(
            cli.config().allowed_origins,
            Some(vec![
                "http://a.test".to_owned(),
                "http://b.test:8000".to_owned()
            ])
        );
    }

    #[test]
    fn a_token_ttl_cap_over_24_hours_is_rejected() {
        let mut config = Config::new("unused-data-dir");
        config.limits.max_token_ttl_secs = 86_401;
        assert!(matches!(config.validate(), Err(Error::Config(_))));
    }
}
