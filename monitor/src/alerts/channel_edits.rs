//! Adding, testing and removing the channels notifications go to: an
//! Apprise-style URL or a browser's push subscription, refused if the
//! outbound policy refuses its address, sealed in the vault with only its
//! masked form kept in the open; anyone may remove their own device's push
//! channel, editors any channel.

use chrono::Utc;
use serde_json::json;

use model::{ChannelInfo, Role};

use super::channel::{Channel, ChannelError};
use super::send::{send, Message, SendError};
use super::service::{invalid, new_id, secret_name, AlertError, AlertService, Loaded};
use crate::auth::{AuthError, Identity};

impl AlertService {
    /// The channels as they may be shown (secrets masked), oldest first.
    pub fn channels(&self) -> Vec<ChannelInfo> {
        let mut v: Vec<ChannelInfo> = self
            .channels
            .read()
            .values()
            .map(|l| l.info.clone())
            .collect();
        v.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        v
    }

    /// Refuses a channel whose address the outbound policy refuses (a
    /// private network), in words; checked again on every send.
    async fn check_destination(&self, channel: &Channel) -> Result<(), String> {
        let policy = &self.endpoints.policy;
        match (channel, channel.endpoint(&self.endpoints)) {
            (_, Some(url)) => policy.check_resolved(&url).await.map(|_| ()),
            (Channel::Email { host, .. }, None) => {
                // Read as a web address would be (so "127.1" is an IP address).
                let host = if host.contains(':') && !host.starts_with('[') {
                    format!("[{host}]")
                } else {
                    host.clone()
                };
                let probe = url::Url::parse(&format!("http://{host}/")).ok();
                policy.check_host(probe.as_ref().and_then(|u| u.host()))
            }
            (_, None) => Ok(()),
        }
        .map_err(|e| format!("refused: {e}"))
    }

    /// Adds a channel from an Apprise-style URL. The URL is sealed; only its
    /// masked form is kept in the open and returned.
    pub async fn add_channel(
        &self,
        who: &Identity,
        name: &str,
        address: &str,
    ) -> Result<ChannelInfo, AlertError> {
        who.require(Role::Editor)?;
        let channel = Channel::parse(address).map_err(|e| invalid("url", e.to_string()))?;
        if matches!(channel, Channel::WebPush { .. }) {
            return Err(invalid(
                "url",
                "Push channels are made with \"Enable push on this device\".",
            ));
        }
        self.check_destination(&channel)
            .await
            .map_err(|e| invalid("url", e))?;
        self.insert_channel(who, name, address.trim(), channel)
            .await
    }

    /// Adds (or finds) the channel for a browser's push subscription.
    pub async fn add_push_subscription(
        &self,
        who: &Identity,
        name: &str,
        subscription_json: &str,
    ) -> Result<ChannelInfo, AlertError> {
        self.current().await;
        who.require(Role::Viewer)?;
        // A push channel belongs to a signed-in user (anonymous viewers have none).
        if who.viewer.user.is_none() {
            return Err(AuthError::Unauthenticated.into());
        }
        let channel = Channel::web_push(subscription_json)
            .map_err(|e: ChannelError| invalid("subscription", e.to_string()))?;
        self.check_destination(&channel)
            .await
            .map_err(|e| invalid("subscription", e))?;
        if let Some(existing) = self.channels.read().values().find(|l| l.channel == channel) {
            return Ok(existing.info.clone());
        }
        let address = channel.web_push_address().expect("a push channel");
        self.insert_channel(who, name, &address, channel).await
    }

    async fn insert_channel(
        &self,
        who: &Identity,
        name: &str,
        address: &str,
        channel: Channel,
    ) -> Result<ChannelInfo, AlertError> {
        let name = name.trim();
        let name = if name.is_empty() {
            channel.kind().to_string()
        } else if name.chars().count() > 80 {
            return Err(invalid(
                "name",
                "A channel's name has at most 80 characters.",
            ));
        } else {
            name.to_string()
        };
        let info = ChannelInfo {
            id: new_id("c"),
            name,
            kind: channel.kind().into(),
            redacted: channel.redacted(),
            owner: who.viewer.user.clone().unwrap_or_else(|| who.label.clone()),
            created: Utc::now(),
        };
        let store = self.store();
        self.accounts
            .vault
            .put(store, &secret_name(&info.id), address)
            .await?;
        store.save_channel(&info).await?;
        self.channels.write().insert(
            info.id.clone(),
            Loaded {
                info: info.clone(),
                channel,
            },
        );
        self.accounts
            .audit(who, "channel.create", &info.id, None, Some(json!(info)))
            .await?;
        Ok(info)
    }

    pub async fn remove_channel(&self, who: &Identity, id: &str) -> Result<(), AlertError> {
        self.current().await;
        let found = self.channels.read().get(id).map(|l| l.info.clone());
        let Some(info) = found else {
            // Viewers learn nothing about which channels exist.
            who.require(Role::Editor)?;
            return Err(AlertError::NotFound(format!("channel {id}")));
        };
        // Anyone may remove their own device's push channel.
        let own_push =
            info.kind == "webpush" && who.viewer.user.as_deref() == Some(info.owner.as_str());
        if !own_push {
            who.require(Role::Editor)?;
        }
        self.forget_channel(id).await?;
        self.accounts
            .audit(who, "channel.delete", id, Some(json!(info)), None)
            .await?;
        Ok(())
    }

    /// Ends the push channel of a browser's subscription (by its endpoint).
    pub async fn remove_push_subscription(
        &self,
        who: &Identity,
        endpoint: &str,
    ) -> Result<(), AlertError> {
        self.current().await;
        let id = self
            .channels
            .read()
            .values()
            .find(|l| matches!(&l.channel, Channel::WebPush { endpoint: e, .. } if e.as_str() == endpoint))
            .map(|l| l.info.id.clone())
            .ok_or_else(|| AlertError::NotFound("push subscription".into()))?;
        self.remove_channel(who, &id).await
    }

    pub(super) async fn forget_channel(&self, id: &str) -> Result<(), AlertError> {
        let store = self.store();
        store.delete_channel(id).await?;
        store.delete_secret(&secret_name(id)).await?;
        self.channels.write().remove(id);
        Ok(())
    }

    /// Sends a test message to a channel now and says how it went.
    pub async fn send_test(&self, who: &Identity, id: &str) -> Result<(), AlertError> {
        self.current().await;
        who.require(Role::Editor)?;
        let loaded = self
            .channels
            .read()
            .get(id)
            .cloned()
            .ok_or_else(|| AlertError::NotFound(format!("channel {id}")))?;
        let m = Message {
            title: "Dropwatch test notification".into(),
            body: format!(
                "This is {:?} ({}). Alerts from your rules will arrive here.",
                loaded.info.name, loaded.info.kind
            ),
            url: None,
            image: None,
            good_news: true,
            sizes_in_stock: vec![],
            at: Utc::now(),
        };
        let result = send(&self.http, &self.endpoints, &loaded.channel, &m).await;
        self.count(
            &loaded.info.kind,
            if result.is_ok() { "sent" } else { "failed" },
        );
        self.accounts
            .audit(
                who,
                "channel.test",
                id,
                None,
                Some(json!({ "ok": result.is_ok(), "error": result.as_ref().err().map(|e| e.to_string()) })),
            )
            .await?;
        match result {
            Ok(()) => Ok(()),
            Err(SendError::Gone(why)) => {
                self.forget_channel(id).await?;
                Err(AlertError::TestFailed(format!(
                    "{why}; the channel was removed"
                )))
            }
            Err(e) => Err(AlertError::TestFailed(e.to_string())),
        }
    }
}
