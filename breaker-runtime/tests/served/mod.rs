//! The operators' endpoints on a real server on 127.0.0.1 (port 0), and a client for
//! them: shared by the endpoint tests.

#![allow(dead_code)]

use std::net::SocketAddr;

use breaker_runtime::observe::endpoints::Endpoints;
use serde_json::Value;

/// Serves `endpoints` on a port the system picks; its address.
pub async fn start(endpoints: Endpoints) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, endpoints.router()).await.unwrap() });
    addr
}

/// `GET path`: the status and the body.
pub async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let response = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

pub fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Reads a stream until `wanted` appears in it (within 5 s); `seen` holds what was read.
pub async fn read_until(response: &mut reqwest::Response, seen: &mut String, wanted: &str) {
    let deadline = std::time::Duration::from_secs(5);
    tokio::time::timeout(deadline, async {
        while !seen.contains(wanted) {
            let chunk = response.chunk().await.unwrap().expect("the stream stays open");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no `{wanted}` in the stream within 5 s:\n{seen}"));
}
