//! Where a notification goes, written as an Apprise-style URL (the form
//! changedetection.io users already know):
//!
//! | URL | sends to |
//! |---|---|
//! | `discord://ID/TOKEN` | `https://discord.com/api/webhooks/ID/TOKEN` |
//! | `slack://T/B/X` | `https://hooks.slack.com/services/T/B/X` |
//! | `tgram://BOTTOKEN/CHATID` | `https://api.telegram.org/botBOTTOKEN/sendMessage` |
//! | `ntfy://TOPIC`, `ntfy://HOST/TOPIC`, `ntfys://HOST/TOPIC` | ntfy.sh, or a server over HTTP / HTTPS |
//! | `json://HOST/PATH`, `jsons://HOST/PATH` | a generic JSON webhook over HTTP / HTTPS |
//! | `mailto://USER:PASS@SMTPHOST[:PORT]?to=A&from=B`, `mailtos://...` | email, STARTTLS (587) / implicit TLS (465) |
//! | `webpush:{"endpoint":..,"keys":{"p256dh":..,"auth":..}}` | a browser's push subscription (made by the UI's "Enable push", not typed) |
//!
//! Most of these URLs are secrets (a webhook token, a bot token, a
//! password): [`Channel::redacted`] is the only form that may be shown or
//! logged; the URL itself is kept sealed (`auth::vault`).
//!
//! (Over 500 lines only with its unit tests, the last 160-odd lines:
//! they test this file's private parsing and state, so they stay beside it.)

use url::Url;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChannelError {
    #[error("not a channel URL: {0}")]
    Malformed(String),
    #[error("unknown channel kind {0:?}; known: discord, slack, tgram, ntfy, ntfys, json, jsons, mailto, mailtos")]
    UnknownKind(String),
    #[error("{kind} needs {what}, e.g. {example}")]
    Missing {
        kind: &'static str,
        what: &'static str,
        example: &'static str,
    },
}

/// How email reaches the SMTP server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (`mailto://`, port 587).
    StartTls,
    /// TLS from the first byte (`mailtos://`, port 465).
    Implicit,
}

#[derive(Clone, PartialEq, Eq)]
pub enum Channel {
    Discord {
        id: String,
        token: String,
    },
    Slack {
        path: [String; 3],
    },
    Telegram {
        bot_token: String,
        chat_id: String,
    },
    Ntfy {
        server: Url,
        topic: String,
    },
    Json {
        url: Url,
    },
    Email {
        host: String,
        port: u16,
        tls: SmtpTls,
        user: String,
        password: String,
        from: String,
        to: Vec<String>,
    },
    /// A browser's push subscription (`PushSubscription.toJSON()`).
    WebPush {
        endpoint: Url,
        /// The browser's P-256 public key, base64url.
        p256dh: String,
        /// The 16-byte authentication secret, base64url.
        auth: String,
    },
}

/// The server's VAPID key pair (RFC 8292), made on first start and kept
/// sealed in the vault.
#[derive(Clone)]
pub struct Vapid {
    pub key: std::sync::Arc<web_push_native::jwt_simple::algorithms::ES256KeyPair>,
    /// Who push services may contact about our traffic (`mailto:` or a URL).
    pub contact: String,
}

impl Vapid {
    /// The public key as browsers take it (`applicationServerKey`):
    /// the uncompressed point, base64url without padding.
    pub fn public_key(&self) -> String {
        use base64::Engine as _;
        use web_push_native::jwt_simple::algorithms::ECDSAP256PublicKeyLike as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(self.key.public_key().public_key().to_bytes_uncompressed())
    }
}

impl std::fmt::Debug for Vapid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Vapid({})", self.public_key())
    }
}

/// `Debug` is the redacted form: a channel never prints its secrets.
impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Where the hosted services live; tests point them at local fakes.
#[derive(Clone, Debug)]
pub struct Endpoints {
    pub discord: Url,
    pub slack: Url,
    pub telegram: Url,
    pub ntfy: Url,
    /// Extra root certificates (PEM) trusted for SMTP over TLS, besides the
    /// usual web roots: a company mail server's own CA (and the tests').
    pub smtp_roots: Vec<Vec<u8>>,
    /// Signs Web Push requests; none until the alert service has loaded it.
    pub vapid: Option<Vapid>,
    /// Where notifications may be sent (see [`crate::outbound`]); the
    /// service bases above are trusted when the service opens.
    pub policy: std::sync::Arc<crate::outbound::Policy>,
}

impl Default for Endpoints {
    fn default() -> Self {
        let u = |s: &str| Url::parse(s).expect("constant URLs parse");
        Endpoints {
            discord: u("https://discord.com/api/webhooks/"),
            slack: u("https://hooks.slack.com/services/"),
            telegram: u("https://api.telegram.org/"),
            ntfy: u("https://ntfy.sh/"),
            smtp_roots: vec![],
            vapid: None,
            policy: crate::outbound::Policy::strict(),
        }
    }
}

/// "abcdef123456" -> "****3456"; short secrets are hidden whole.
fn mask(secret: &str) -> String {
    let n = secret.chars().count();
    if n <= 8 {
        "****".into()
    } else {
        format!("****{}", secret.chars().skip(n - 4).collect::<String>())
    }
}

/// The `/`-separated parts after `scheme://`, decoded. Read by hand: a
/// Telegram bot token (`123456:ABC...`) in the host position is not a valid
/// URL authority.
fn parts_of(rest: &str) -> Vec<String> {
    let path = rest.split(['?', '#']).next().unwrap_or("");
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect()
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

impl Channel {
    /// Reads an Apprise-style URL.
    pub fn parse(raw: &str) -> Result<Channel, ChannelError> {
        let raw = raw.trim();
        if let Some(json) = raw.strip_prefix("webpush:") {
            return Channel::web_push(json);
        }
        let (scheme, rest) = raw
            .split_once("://")
            .filter(|(s, _)| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric()))
            .ok_or_else(|| ChannelError::Malformed(format!("{raw:?} has no kind://")))?;
        let scheme = scheme.to_ascii_lowercase();
        let parts = parts_of(rest);
        let url = || Url::parse(raw).map_err(|e| ChannelError::Malformed(e.to_string()));
        let missing = |kind, what, example| ChannelError::Missing {
            kind,
            what,
            example,
        };
        match scheme.as_str() {
            "discord" => match parts.as_slice() {
                [id, token] => Ok(Channel::Discord {
                    id: id.clone(),
                    token: token.clone(),
                }),
                _ => Err(missing(
                    "discord",
                    "the webhook id and token",
                    "discord://123456789/AbCdEf",
                )),
            },
            "slack" => match parts.as_slice() {
                [t, b, x] => Ok(Channel::Slack {
                    path: [t.clone(), b.clone(), x.clone()],
                }),
                _ => Err(missing(
                    "slack",
                    "the three parts of the webhook path",
                    "slack://T000/B000/XXXX",
                )),
            },
            "tgram" => match parts.as_slice() {
                [bot, chat] => Ok(Channel::Telegram {
                    bot_token: bot.clone(),
                    chat_id: chat.clone(),
                }),
                _ => Err(missing(
                    "tgram",
                    "the bot token and the chat id",
                    "tgram://123456:ABC-DEF/987654",
                )),
            },
            scheme @ ("ntfy" | "ntfys") => {
                let secure = scheme == "ntfys";
                match (parts.as_slice(), secure) {
                    ([topic], false) => Ok(Channel::Ntfy {
                        server: Endpoints::default().ntfy,
                        topic: topic.clone(),
                    }),
                    ([_host, topic], _) => {
                        let url = url()?;
                        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
                        let base = format!(
                            "{}://{}{port}/",
                            if secure { "https" } else { "http" },
                            url.host_str().unwrap_or_default()
                        );
                        Ok(Channel::Ntfy {
                            server: Url::parse(&base)
                                .map_err(|e| ChannelError::Malformed(e.to_string()))?,
                            topic: topic.clone(),
                        })
                    }
                    _ => Err(missing(
                        "ntfy",
                        "a topic (and for ntfys, a host)",
                        "ntfy://my-drops or ntfys://ntfy.example.com/my-drops",
                    )),
                }
            }
            scheme @ ("json" | "jsons") => {
                let http = if scheme == "jsons" { "https" } else { "http" };
                let target = Url::parse(&format!("{http}://{rest}"))
                    .map_err(|e| ChannelError::Malformed(e.to_string()))?;
                if target.host_str().is_none_or(str::is_empty) {
                    return Err(missing(
                        "json",
                        "a host",
                        "json://hooks.example.com/dropwatch",
                    ));
                }
                Ok(Channel::Json { url: target })
            }
            scheme @ ("mailto" | "mailtos") => {
                let url = url()?;
                let host = url
                    .host_str()
                    .filter(|h| !h.is_empty())
                    .ok_or_else(|| {
                        missing(
                            "mailto",
                            "the SMTP server",
                            "mailto://me:secret@smtp.example.com?to=me@example.com",
                        )
                    })?
                    .to_string();
                let implicit = scheme == "mailtos";
                let user = percent_decode(url.username());
                let password = url.password().map(percent_decode).unwrap_or_default();
                let mut to = vec![];
                let mut from = None;
                for (k, v) in url.query_pairs() {
                    match k.as_ref() {
                        "to" => to.extend(
                            v.split(',')
                                .map(|a| a.trim().to_string())
                                .filter(|a| !a.is_empty()),
                        ),
                        "from" => from = Some(v.into_owned()),
                        _ => {}
                    }
                }
                let from = from.unwrap_or_else(|| {
                    if user.contains('@') {
                        user.clone()
                    } else {
                        format!("{user}@{host}")
                    }
                });
                if to.is_empty() {
                    to.push(from.clone());
                }
                Ok(Channel::Email {
                    port: url.port().unwrap_or(if implicit { 465 } else { 587 }),
                    tls: if implicit {
                        SmtpTls::Implicit
                    } else {
                        SmtpTls::StartTls
                    },
                    host,
                    user,
                    password,
                    from,
                    to,
                })
            }
            other => Err(ChannelError::UnknownKind(other.to_string())),
        }
    }

    /// A browser's push subscription, as `PushSubscription.toJSON()` gives it.
    pub fn web_push(json: &str) -> Result<Channel, ChannelError> {
        let bad = |why: &str| ChannelError::Malformed(format!("push subscription: {why}"));
        let v: serde_json::Value = serde_json::from_str(json).map_err(|e| bad(&e.to_string()))?;
        let endpoint = v["endpoint"]
            .as_str()
            .and_then(|u| Url::parse(u).ok())
            .ok_or_else(|| bad("no endpoint URL"))?;
        // Push services are HTTPS; plain HTTP only to this machine (a local
        // push relay, the tests' fake).
        let loopback = match endpoint.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        };
        if !(endpoint.scheme() == "https" || endpoint.scheme() == "http" && loopback) {
            return Err(bad("the endpoint must be an https:// URL"));
        }
        let key = |name: &str| {
            v["keys"][name]
                .as_str()
                .filter(|k| !k.is_empty())
                .map(str::to_string)
                .ok_or_else(|| bad(&format!("no keys.{name}")))
        };
        Ok(Channel::WebPush {
            endpoint,
            p256dh: key("p256dh")?,
            auth: key("auth")?,
        })
    }

    /// The form kept sealed in the vault, read back by [`Channel::parse`].
    /// (Apprise URLs are kept as the user typed them.)
    pub fn web_push_address(&self) -> Option<String> {
        match self {
            Channel::WebPush {
                endpoint,
                p256dh,
                auth,
            } => Some(format!(
                "webpush:{}",
                serde_json::json!({ "endpoint": endpoint.as_str(), "keys": { "p256dh": p256dh, "auth": auth } })
            )),
            _ => None,
        }
    }

    /// The kind, as users name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Channel::Discord { .. } => "discord",
            Channel::Slack { .. } => "slack",
            Channel::Telegram { .. } => "telegram",
            Channel::Ntfy { .. } => "ntfy",
            Channel::Json { .. } => "json",
            Channel::Email { .. } => "email",
            Channel::WebPush { .. } => "webpush",
        }
    }

    /// The URL with its secrets masked: what the UI and the logs show.
    pub fn redacted(&self) -> String {
        match self {
            Channel::Discord { id, token } => format!("discord://{id}/{}", mask(token)),
            Channel::Slack { path } => {
                format!("slack://{}/{}/{}", path[0], path[1], mask(&path[2]))
            }
            Channel::Telegram { bot_token, chat_id } => {
                format!("tgram://{}/{chat_id}", mask(bot_token))
            }
            Channel::Ntfy { server, topic } => format!("ntfy {}{}", server, mask(topic)),
            Channel::Json { url } => format!(
                "{}://{}/…",
                url.scheme(),
                url.host_str().unwrap_or_default()
            ),
            Channel::Email {
                host,
                port,
                user,
                to,
                ..
            } => {
                format!("mailto://{user}:****@{host}:{port} -> {}", to.join(", "))
            }
            // The endpoint is a capability URL: its host only.
            Channel::WebPush { endpoint, .. } => {
                format!("web push via {}", endpoint.host_str().unwrap_or_default())
            }
        }
    }

    /// The HTTP address a notification is posted to (none for email).
    pub fn endpoint(&self, at: &Endpoints) -> Option<Url> {
        // "./": a relative path such as "bot123:ABC/..." would read as a scheme.
        let join = |base: &Url, path: &str| base.join(&format!("./{path}")).ok();
        match self {
            Channel::Discord { id, token } => join(&at.discord, &format!("{id}/{token}")),
            Channel::Slack { path } => join(&at.slack, &path.join("/")),
            Channel::Telegram { bot_token, .. } => {
                join(&at.telegram, &format!("bot{bot_token}/sendMessage"))
            }
            Channel::Ntfy { server, topic } => {
                // ntfy.sh as written in the URL follows the configured default (tests).
                let base = if *server == Endpoints::default().ntfy {
                    &at.ntfy
                } else {
                    server
                };
                join(base, topic)
            }
            Channel::Json { url } => Some(url.clone()),
            Channel::WebPush { endpoint, .. } => Some(endpoint.clone()),
            Channel::Email { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_parses_to_its_endpoint() {
        let at = Endpoints::default();
        let ep = |raw: &str| {
            Channel::parse(raw)
                .unwrap()
                .endpoint(&at)
                .unwrap()
                .to_string()
        };
        assert_eq!(
            ep("discord://1234567890/AbCdEfGhIjKl"),
            "https://discord.com/api/webhooks/1234567890/AbCdEfGhIjKl"
        );
        assert_eq!(
            ep("slack://T0001/B0002/XXXXYYYYZZZZ"),
            "https://hooks.slack.com/services/T0001/B0002/XXXXYYYYZZZZ"
        );
        assert_eq!(
            ep("tgram://123456:ABC-DEF1234ghIkl/-100987654"),
            "https://api.telegram.org/bot123456:ABC-DEF1234ghIkl/sendMessage"
        );
        assert_eq!(ep("ntfy://my-drops"), "https://ntfy.sh/my-drops");
        assert_eq!(
            ep("ntfys://ntfy.example.com/my-drops"),
            "https://ntfy.example.com/my-drops"
        );
        assert_eq!(
            ep("ntfy://10.0.0.5:8080/my-drops"),
            "http://10.0.0.5:8080/my-drops"
        );
        assert_eq!(
            ep("json://hooks.example.com/dropwatch?x=1"),
            "http://hooks.example.com/dropwatch?x=1"
        );
        assert_eq!(
            ep("jsons://hooks.example.com/a/b"),
            "https://hooks.example.com/a/b"
        );
        match Channel::parse("tgram://123456:ABC-DEF1234ghIkl/-100987654").unwrap() {
            Channel::Telegram { chat_id, .. } => assert_eq!(chat_id, "-100987654"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn email_urls_carry_server_credentials_and_recipients() {
        let c = Channel::parse("mailto://alerts%40example.com:s3cr%40t@smtp.example.com?to=a@example.com,b@example.com").unwrap();
        assert_eq!(
            c,
            Channel::Email {
                host: "smtp.example.com".into(),
                port: 587,
                tls: SmtpTls::StartTls,
                user: "alerts@example.com".into(),
                password: "s3cr@t".into(),
                from: "alerts@example.com".into(),
                to: vec!["a@example.com".into(), "b@example.com".into()],
            }
        );
        match Channel::parse("mailtos://me:pw@mail.example.com:2465").unwrap() {
            Channel::Email {
                port,
                tls,
                to,
                from,
                ..
            } => {
                assert_eq!((port, tls), (2465, SmtpTls::Implicit));
                assert_eq!(from, "me@mail.example.com");
                assert_eq!(
                    to,
                    vec!["me@mail.example.com".to_string()],
                    "to oneself by default"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(c.endpoint(&Endpoints::default()).is_none());
    }

    #[test]
    fn secrets_never_show() {
        for (raw, secret) in [
            ("discord://1234567890/AbCdEfGhIjKlMnOp", "AbCdEfGhIjKlMnOp"),
            ("slack://T0001/B0002/XXXXYYYYZZZZ", "XXXXYYYYZZZZ"),
            (
                "tgram://123456:ABC-DEF1234ghIkl/987654",
                "123456:ABC-DEF1234ghIkl",
            ),
            ("ntfy://private-topic-name-42", "private-topic-name-42"),
            (
                "jsons://hooks.example.com/secret-path-123",
                "secret-path-123",
            ),
            (
                "mailto://me:hunter2hunter2@smtp.example.com",
                "hunter2hunter2",
            ),
        ] {
            let c = Channel::parse(raw).unwrap();
            assert!(!c.redacted().contains(secret), "{}", c.redacted());
            assert!(!format!("{c:?}").contains(secret));
        }
        let push = Channel::parse(
            r#"webpush:{"endpoint":"https://fcm.googleapis.com/fcm/send/cap-abc123","keys":{"p256dh":"BPk","auth":"q1"}}"#,
        )
        .unwrap();
        assert_eq!(push.redacted(), "web push via fcm.googleapis.com");
        assert_eq!(
            Channel::parse(&push.web_push_address().unwrap()).unwrap(),
            push
        );
        for (c, secret) in [(push, "cap-abc123")] {
            assert!(!format!("{c:?}").contains(secret));
        }
        assert_eq!(
            Channel::parse("discord://1/abcdefghijklmnop")
                .unwrap()
                .redacted(),
            "discord://1/****mnop"
        );
    }

    #[test]
    fn mistakes_say_what_is_missing() {
        assert!(matches!(
            Channel::parse("discord://123"),
            Err(ChannelError::Missing {
                kind: "discord",
                ..
            })
        ));
        assert!(matches!(
            Channel::parse("slack://a/b"),
            Err(ChannelError::Missing { kind: "slack", .. })
        ));
        assert!(
            matches!(Channel::parse("pushover://x/y"), Err(ChannelError::UnknownKind(k)) if k == "pushover")
        );
        assert!(matches!(
            Channel::parse("not a url"),
            Err(ChannelError::Malformed(_))
        ));
        assert!(matches!(Channel::parse("mailto://"), Err(_)));
        assert!(matches!(
            Channel::parse(r#"webpush:{"endpoint":"https://push.example/x","keys":{"auth":"a"}}"#),
            Err(ChannelError::Malformed(m)) if m.contains("p256dh")
        ));
        assert!(matches!(
            Channel::parse(r#"webpush:{"endpoint":"http://push.example/x","keys":{"p256dh":"B","auth":"a"}}"#),
            Err(ChannelError::Malformed(m)) if m.contains("https")
        ));
        let e = Channel::parse("tgram://onlytoken").unwrap_err().to_string();
        assert!(e.contains("chat id"), "{e}");
    }
}
