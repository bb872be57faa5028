//! A small REST client for the commands that drive a running server: the
//! base URL and API token from `--url`/`--token`, problem+json errors turned
//! into their title and detail.

use anyhow::{anyhow, bail, Context};
use reqwest::{RequestBuilder, Response};

use super::Remote;

/// A running Dropwatch and the token to call it with.
pub struct Client {
    base: url::Url,
    token: String,
    http: reqwest::Client,
}

impl Client {
    pub fn new(remote: &Remote) -> anyhow::Result<Client> {
        let base = remote.url.clone().ok_or_else(|| {
            anyhow!(
                "give the running server's address: --url http://127.0.0.1:3000 (or DROPWATCH_URL)"
            )
        })?;
        let token = remote
            .token
            .as_ref()
            .map(|t| t.0.clone())
            .ok_or_else(|| anyhow!("give an API token: --token dw_... (make one on the account page; or DROPWATCH_TOKEN)"))?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("dropwatch-cli/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()?;
        Ok(Client { base, token, http })
    }

    fn url(&self, path: &str) -> anyhow::Result<url::Url> {
        self.base
            .join(path)
            .with_context(|| format!("{} + {path}", self.base))
    }

    pub fn get(&self, path: &str) -> anyhow::Result<RequestBuilder> {
        Ok(self.http.get(self.url(path)?).bearer_auth(&self.token))
    }

    pub fn post(&self, path: &str) -> anyhow::Result<RequestBuilder> {
        Ok(self.http.post(self.url(path)?).bearer_auth(&self.token))
    }
}

/// The answer if it succeeded; otherwise the server's problem in words.
pub async fn ok(r: RequestBuilder) -> anyhow::Result<Response> {
    let res = r.send().await.context("the server did not answer")?;
    if res.status().is_success() {
        return Ok(res);
    }
    let status = res.status();
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    let title = body["title"].as_str().unwrap_or("refused");
    let detail = body["detail"].as_str().unwrap_or("");
    bail!("{status}: {title}. {detail}")
}
