//! Email over SMTP with lettre: STARTTLS (`mailto://`, port 587 by default)
//! or TLS from the first byte (`mailtos://`, 465). TLS is always required:
//! a server that does not offer STARTTLS is refused rather than sent the
//! password in the clear.
//!
//! The SMTP server's name is resolved under the outbound policy first, and
//! the connection goes to the address that was checked (the certificate is
//! still checked against the name).

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::channel::{Channel, Endpoints, SmtpTls};
use super::send::{Message, SendError};

pub async fn send(at: &Endpoints, channel: &Channel, m: &Message) -> Result<(), SendError> {
    let Channel::Email {
        host,
        port,
        tls,
        user,
        password,
        from,
        to,
    } = channel
    else {
        return Err(SendError::Permanent("not an email channel".into()));
    };
    let permanent =
        |what: &str, e: &dyn std::fmt::Display| SendError::Permanent(format!("email: {what}: {e}"));
    let mut params = TlsParameters::builder(host.clone());
    for pem in &at.smtp_roots {
        params = params.add_root_certificate(
            Certificate::from_pem(pem).map_err(|e| permanent("a root certificate", &e))?,
        );
    }
    let params = params
        .build_rustls()
        .map_err(|e| permanent("TLS settings", &e))?;
    let addr = match at.policy.resolve(host, *port).await {
        Ok(addrs) => addrs.into_iter().next(),
        Err(e @ crate::outbound::Refused::Private { .. }) => {
            return Err(SendError::Permanent(format!("email: refused: {e}")))
        }
        Err(e) => return Err(SendError::Transient(format!("email: {e}"))),
    }
    .ok_or_else(|| SendError::Transient(format!("email: {host} has no address")))?;
    let mut transport =
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(addr.ip().to_string())
            .port(*port)
            .timeout(Some(Duration::from_secs(20)))
            .tls(match tls {
                SmtpTls::StartTls => Tls::Required(params),
                SmtpTls::Implicit => Tls::Wrapper(params),
            });
    if !user.is_empty() {
        transport = transport.credentials(Credentials::new(user.clone(), password.clone()));
    }
    let transport = transport.build();

    let mut mail = lettre::Message::builder()
        .from(
            from.parse()
                .map_err(|e| permanent("the from address", &e))?,
        )
        .subject(m.title.clone());
    for addr in to {
        mail = mail.to(addr.parse().map_err(|e| permanent("a to address", &e))?);
    }
    let mail = mail
        .header(ContentType::TEXT_PLAIN)
        .body(m.text())
        .map_err(|e| permanent("the message", &e))?;

    match transport.send(mail).await {
        Ok(_) => Ok(()),
        Err(e) => {
            // lettre's words never include the password.
            let words = format!("email via {host}:{port}: {e}");
            if e.is_permanent() {
                Err(SendError::Permanent(words))
            } else {
                Err(SendError::Transient(words))
            }
        }
    }
}
