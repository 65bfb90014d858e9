//! Real HTTP servers on 127.0.0.1 for the integration tests: an axum server scripted
//! per request by its path, a port nothing listens on, and a server that drops every
//! connection unanswered.

#![allow(dead_code, reason = "each test binary uses the servers it needs")]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};

/// A scripted server: `/status/{code}` answers that status, `/hang` never answers,
/// `/loop` redirects to itself, `/elsewhere` to `/status/200`, `/upgrade` to itself over
/// https (301), `POST /orders` to `GET /orders` (303, Post/Redirect/Get), `POST /echo` answers
/// the body it got and its `x-test` header as `x-echo`. `hits` counts the requests
/// that reached a handler (the redirects excepted).
pub struct Server {
    pub addr: SocketAddr,
    pub hits: Arc<AtomicUsize>,
}

pub async fn server() -> Server {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = |hits: &Arc<AtomicUsize>| {
        let hits = hits.clone();
        move || {
            hits.fetch_add(1, Ordering::SeqCst);
        }
    };
    let (a, b, c) = (counted(&hits), counted(&hits), counted(&hits));
    let app = Router::new()
        .route(
            "/status/{code}",
            get(move |Path(code): Path<u16>| async move {
                a();
                StatusCode::from_u16(code).unwrap()
            }),
        )
        .route("/loop", get(|| async { (StatusCode::FOUND, [("location", "/loop")]) }))
        .route("/elsewhere", get(|| async { (StatusCode::FOUND, [("location", "/status/200")]) }))
        .route(
            "/upgrade",
            get(|headers: HeaderMap| async move {
                let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("").to_owned();
                (StatusCode::MOVED_PERMANENTLY, [("location", format!("https://{host}/upgrade"))])
            }),
        )
        .route("/orders", post(|| async { (StatusCode::SEE_OTHER, [("location", "/orders")]) }))
        .route(
            "/hang",
            get(move || async move {
                b();
                std::future::pending::<()>().await;
            }),
        )
        .route(
            "/echo",
            post(move |headers: HeaderMap, body: Bytes| async move {
                c();
                let echo = headers.get("x-test").cloned().unwrap_or(axum::http::HeaderValue::from_static(""));
                ([("x-echo", echo)], body)
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server { addr, hits }
}

/// An address nothing listens on: a socket bound to a port the OS chose and never
/// listening, so connections to it are refused, and the port cannot be handed to
/// another test's server while it is held (a listener bound and dropped could be).
pub struct Refusing {
    pub addr: SocketAddr,
    _socket: tokio::net::TcpSocket,
}

pub async fn refusing() -> Refusing {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap();
    Refusing { addr, _socket: socket }
}

/// A server that accepts each connection, reads the request, and closes it unanswered.
pub async fn dropping() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            let mut buf = [0u8; 1024];
            let _ = tokio::io::AsyncReadExt::read(&mut stream, &mut buf).await;
            drop(stream);
        }
    });
    addr
}
