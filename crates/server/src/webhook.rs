//! Webhooks: each row a carrier may see is sent (POST) to its URL, signed with HMAC-SHA256, at
//! least once and in `seq` order, retried with a doubling, capped wait while the carrier's
//! system answers anything but 2xx. The retry queue is bounded (`webhook_queue` rows); the
//! rest wait in the trace and are fetched by `seq`.

use std::time::Duration;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::Full;
use hyper::Uri;
use hyper_util::rt::TokioIo;
use lnp_model::CarrierCode;
use sha2::Sha256;
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::owner::{Handle, Request};
use crate::settings::Limits;
use crate::tokens::{hex, Principal, Webhook};

/// The `X-Lnpsim-Signature` header's value for `body` sent at `unix` seconds:
/// `t=UNIX,v1=HEX`, HEX the HMAC-SHA256 of `UNIX.` followed by the body.
pub fn signature(secret: &str, unix: u64, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(unix.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={unix},v1={}", hex(&mac.finalize().into_bytes()))
}

fn unix_now() -> u64 {
    #[allow(
        clippy::disallowed_methods,
        reason = "a webhook signature carries the wall-clock time"
    )]
    let now = std::time::SystemTime::now();
    now.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// One POST; `Ok` on a 2xx answer.
async fn deliver(uri: &Uri, secret: &str, body: &str, timeout: Duration) -> Result<(), String> {
    let host = uri.host().ok_or("no host")?.to_string();
    let port = uri.port_u16().unwrap_or(80);
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let attempt = async {
        let stream = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| e.to_string())?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let req = hyper::Request::post(path)
            .header(hyper::header::HOST, format!("{host}:{port}"))
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header("x-lnpsim-signature", signature(secret, unix_now(), body.as_bytes()))
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| e.to_string())?;
        let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("answered {}", resp.status()))
        }
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .map_err(|_| "timed out".to_string())?
}

/// Delivers `carrier`'s rows to its webhook until the server stops.
pub async fn run(
    handle: Handle,
    carrier: CarrierCode,
    hook: Webhook,
    limits: Limits,
    mut stopping: watch::Receiver<bool>,
) {
    let Ok(uri) = hook.url.parse::<Uri>() else { return };
    let mut head = handle.head.clone();
    let mut after = 0;
    let timeout = Duration::from_millis(limits.webhook_timeout_ms);
    let max_backoff = Duration::from_millis(limits.webhook_max_backoff_ms);
    loop {
        head.borrow_and_update();
        let Ok(rows) = handle
            .ask(|reply| Request::Rows {
                viewer: Principal::Carrier(carrier),
                after,
                limit: limits.webhook_queue.max(1),
                reply,
            })
            .await
        else {
            return;
        };
        let idle = rows.is_empty();
        for row in rows {
            let mut backoff = Duration::from_millis(100).min(max_backoff);
            loop {
                match deliver(&uri, &hook.secret, row.json(), timeout).await {
                    Ok(()) => break,
                    Err(e) => {
                        tracing::info!(%carrier, seq = row.record.seq, error = %e, "webhook delivery failed; retrying");
                        tokio::select! {
                            () = tokio::time::sleep(backoff) => {}
                            _ = stopping.changed() => return,
                        }
                        backoff = (backoff * 2).min(max_backoff);
                    }
                }
                if *stopping.borrow() {
                    return;
                }
            }
            after = row.record.seq;
        }
        if idle {
            tokio::select! {
                r = head.changed() => if r.is_err() { return },
                _ = stopping.changed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_signature_is_hmac_sha256_of_time_dot_body() {
        // HMAC-SHA256("key", "1700000000.{}"), as Python's hmac module computes it.
        let s = super::signature("key", 1_700_000_000, b"{}");
        assert_eq!(
            s,
            "t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
    }
}
