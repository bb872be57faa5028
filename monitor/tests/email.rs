//! Email through lettre to a local SMTP server that speaks the protocol for
//! real: STARTTLS on a plain connection and TLS from the first byte, AUTH
//! PLAIN/LOGIN, MAIL/RCPT/DATA; a wrong password gets 535, which is a
//! failure that says why and is not retried.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use chrono::Utc;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

use monitor::alerts::channel::{Channel, Endpoints};
use monitor::alerts::send::{send, Message, SendError};
use monitor::outbound::{Outbound, Policy};

fn http() -> Outbound {
    Outbound::new(Policy::open(), |b| b)
}

const CA: &[u8] = include_bytes!("fixtures/tls/ca.pem");
const CERT: &[u8] = include_bytes!("fixtures/tls/server.pem");
const KEY: &[u8] = include_bytes!("fixtures/tls/server.key");

#[derive(Clone, Debug, Default)]
struct Mail {
    tls: bool,
    user: String,
    password: String,
    from: String,
    to: Vec<String>,
    data: String,
}

type Inbox = Arc<Mutex<Vec<Mail>>>;

fn acceptor() -> TlsAcceptor {
    let certs = vec![CertificateDer::from_pem_slice(CERT).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(KEY).unwrap();
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
    TlsAcceptor::from(Arc::new(config))
}

enum Next {
    StartTls,
    Done,
}

/// One SMTP conversation until QUIT, or until the client asks for STARTTLS.
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut BufReader<S>,
    tls: bool,
    password: &str,
    inbox: &Inbox,
) -> Next {
    let mut mail = Mail {
        tls,
        ..Mail::default()
    };
    let mut line = String::new();
    loop {
        line.clear();
        if io.read_line(&mut line).await.unwrap_or(0) == 0 {
            return Next::Done;
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO") {
            if tls {
                "250-localhost\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n".into()
            } else {
                "250-localhost\r\n250-STARTTLS\r\n250 8BITMIME\r\n".into()
            }
        } else if upper == "STARTTLS" {
            io.get_mut()
                .write_all(b"220 2.0.0 Ready to start TLS\r\n")
                .await
                .unwrap();
            return Next::StartTls;
        } else if upper.starts_with("AUTH PLAIN") {
            let b64 = cmd.split_whitespace().nth(2).unwrap_or_default();
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap_or_default();
            let parts: Vec<String> = raw
                .split(|b| *b == 0)
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect();
            mail.user = parts.get(1).cloned().unwrap_or_default();
            mail.password = parts.get(2).cloned().unwrap_or_default();
            if mail.password == password {
                "235 2.7.0 Authentication successful\r\n".into()
            } else {
                "535 5.7.8 Authentication credentials invalid\r\n".into()
            }
        } else if upper.starts_with("MAIL FROM:") {
            mail.from = cmd[10..].trim().trim_matches(['<', '>']).to_string();
            "250 2.1.0 Ok\r\n".into()
        } else if upper.starts_with("RCPT TO:") {
            mail.to
                .push(cmd[8..].trim().trim_matches(['<', '>']).to_string());
            "250 2.1.5 Ok\r\n".into()
        } else if upper == "DATA" {
            io.get_mut()
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await
                .unwrap();
            let mut data = String::new();
            loop {
                line.clear();
                io.read_line(&mut line).await.unwrap();
                if line == ".\r\n" {
                    break;
                }
                data.push_str(&line);
            }
            mail.data = data;
            inbox.lock().unwrap().push(mail.clone());
            "250 2.0.0 Ok: queued\r\n".into()
        } else if upper == "QUIT" {
            io.get_mut().write_all(b"221 2.0.0 Bye\r\n").await.unwrap();
            return Next::Done;
        } else if upper == "RSET" || upper == "NOOP" {
            "250 2.0.0 Ok\r\n".into()
        } else {
            "502 5.5.2 Command not recognized\r\n".into()
        };
        io.get_mut().write_all(reply.as_bytes()).await.unwrap();
    }
}

/// A local SMTP server: STARTTLS (`implicit == false`) or TLS from the
/// first byte. Returns its port and what it received.
async fn smtp_server(implicit: bool, password: &'static str) -> (u16, Inbox) {
    let inbox: Inbox = Arc::default();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let tls = acceptor();
    let got = inbox.clone();
    tokio::spawn(async move {
        loop {
            let (sock, _) = l.accept().await.unwrap();
            let (tls, got) = (tls.clone(), got.clone());
            tokio::spawn(async move {
                if implicit {
                    let Ok(s) = tls.accept(sock).await else {
                        return;
                    };
                    let mut io = BufReader::new(s);
                    io.get_mut()
                        .write_all(b"220 localhost ESMTP fake\r\n")
                        .await
                        .unwrap();
                    converse(&mut io, true, password, &got).await;
                } else {
                    let mut io = BufReader::new(sock);
                    io.get_mut()
                        .write_all(b"220 localhost ESMTP fake\r\n")
                        .await
                        .unwrap();
                    if let Next::StartTls = converse(&mut io, false, password, &got).await {
                        let Ok(s) = tls.accept(io.into_inner()).await else {
                            return;
                        };
                        converse(&mut BufReader::new(s), true, password, &got).await;
                    }
                }
            });
        }
    });
    (port, inbox)
}

fn endpoints() -> Endpoints {
    Endpoints {
        smtp_roots: vec![CA.to_vec()],
        // The fake SMTP server listens on this machine.
        policy: Policy::open(),
        ..Endpoints::default()
    }
}

fn message() -> Message {
    Message {
        title: "Restocked: Air Max 1 size 10".into(),
        body: "129.99 USD".into(),
        url: Some("https://shop.example/products/air-max-1".into()),
        image: None,
        good_news: true,
        sizes_in_stock: vec!["9".into(), "10".into()],
        at: Utc::now(),
    }
}

#[tokio::test]
async fn starttls_and_implicit_tls_both_deliver_with_the_credentials() {
    let http = http();
    for (implicit, scheme) in [(false, "mailto"), (true, "mailtos")] {
        let (port, inbox) = smtp_server(implicit, "app-password-1").await;
        let c = Channel::parse(&format!(
            "{scheme}://alerts%40example.com:app-password-1@localhost:{port}?to=me@example.com,you@example.com"
        ))
        .unwrap();
        send(&http, &endpoints(), &c, &message()).await.unwrap();
        let got = inbox.lock().unwrap().clone();
        assert_eq!(got.len(), 1, "{scheme}");
        let m = &got[0];
        assert!(
            m.tls,
            "{scheme}: everything after the greeting went over TLS"
        );
        assert_eq!(
            (m.user.as_str(), m.password.as_str()),
            ("alerts@example.com", "app-password-1")
        );
        assert_eq!(m.from, "alerts@example.com");
        assert_eq!(m.to, ["me@example.com", "you@example.com"]);
        assert!(
            m.data.contains("Subject: Restocked: Air Max 1 size 10"),
            "{}",
            m.data
        );
        assert!(m.data.contains("In stock: 9, 10"), "{}", m.data);
        assert!(
            m.data.contains("https://shop.example/products/air-max-1"),
            "{}",
            m.data
        );
    }
}

#[tokio::test]
async fn a_wrong_password_fails_for_good_and_says_so_without_the_password() {
    let (port, inbox) = smtp_server(false, "the-right-one").await;
    let c = Channel::parse(&format!("mailto://me:wrong-password-9@localhost:{port}")).unwrap();
    let err = send(&http(), &endpoints(), &c, &message())
        .await
        .unwrap_err();
    match &err {
        SendError::Permanent(why) => {
            assert!(
                why.contains("535") || why.to_lowercase().contains("auth"),
                "{why}"
            );
            assert!(!why.contains("wrong-password-9"), "{why}");
        }
        other => panic!("expected a permanent failure, got {other:?}"),
    }
    assert!(inbox.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_untrusted_certificate_or_a_dead_server_is_not_sent_in_the_clear() {
    // Without the test CA, the server's certificate is not trusted: no mail,
    // and the error says TLS.
    let (port, inbox) = smtp_server(false, "pw").await;
    let c = Channel::parse(&format!("mailto://me:pw@localhost:{port}")).unwrap();
    let err = send(
        &http(),
        &Endpoints {
            policy: Policy::open(),
            ..Endpoints::default()
        },
        &c,
        &message(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SendError::Transient(_)), "{err:?}");
    assert!(inbox.lock().unwrap().is_empty());
    // Nobody listening: worth retrying later.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = Channel::parse(&format!("mailto://me:pw@localhost:{dead}")).unwrap();
    let err = send(&http(), &endpoints(), &c, &message())
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Transient(_)), "{err:?}");
}
