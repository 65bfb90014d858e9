//! [`Identify`]: which service a request goes to, so it goes through that service's
//! breaker.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, HeaderName, Method, Uri};

/// What identification sees of a request.
#[derive(Clone, Copy, Debug)]
pub struct RequestHead<'a> {
    /// The request's method.
    pub method: &'a Method,
    /// The request's URI.
    pub uri: &'a Uri,
    /// The request's headers.
    pub headers: &'a HeaderMap,
}

impl<'a> RequestHead<'a> {
    /// The head of `request`.
    pub fn of<B>(request: &'a http::Request<B>) -> RequestHead<'a> {
        RequestHead { method: request.method(), uri: request.uri(), headers: request.headers() }
    }

    /// The host the request goes to: the URI's authority, else the `Host` header.
    pub fn host(&self) -> Option<&'a str> {
        if let Some(host) = self.uri.host() {
            return Some(host);
        }
        let header = self.headers.get(http::header::HOST)?.to_str().ok()?;
        // Without the port (and the brackets of an IPv6 address).
        let host = match header.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(v6),
            None => header.split(':').next().unwrap_or(header),
        };
        (!host.is_empty()).then_some(host)
    }
}

type Custom = Arc<dyn Fn(&RequestHead<'_>) -> Option<String> + Send + Sync>;

/// How a layer finds the service of a request.
///
/// ```
/// use breaker_runtime::integrations::tower::{Identify, RequestHead};
///
/// let by_host = Identify::host().alias("payments-eu.internal", "payments");
/// let request = http::Request::get("https://WWW.Payments-EU.internal:8443/quote").body(()).unwrap();
/// assert_eq!(by_host.service_of(&RequestHead::of(&request)).as_deref(), Some("payments"));
///
/// let by_path = Identify::path_prefixes([("/api/users", "users"), ("/api", "api")]);
/// let request = http::Request::get("/api/users/7").body(()).unwrap();
/// assert_eq!(by_path.service_of(&RequestHead::of(&request)).as_deref(), Some("users"));
///
/// let grpc = Identify::grpc_service();
/// let request = http::Request::post("/shop.v1.Cart/AddItem").body(()).unwrap();
/// assert_eq!(grpc.service_of(&RequestHead::of(&request)).as_deref(), Some("shop.v1.Cart"));
/// ```
#[derive(Clone)]
pub struct Identify {
    rule: Rule,
}

#[derive(Clone)]
enum Rule {
    Host { strip: Vec<String>, aliases: HashMap<String, String> },
    PathPrefixes(Vec<(String, String)>),
    Header(HeaderName),
    Grpc,
    Named(String),
    Custom(Custom),
}

impl Identify {
    /// By host: lowercased, without its port, without a leading `www.` (and any prefix
    /// added with [`strip_prefix`](Self::strip_prefix)), then mapped through the
    /// aliases (see [`alias`](Self::alias)). An IPv6 address, or a name longer than a
    /// service's, is made a valid service name (`[::1]` is `__1`). The default of
    /// [`CircuitBreakerLayer::new`](super::CircuitBreakerLayer::new).
    pub fn host() -> Identify {
        Identify { rule: Rule::Host { strip: vec!["www.".into()], aliases: HashMap::new() } }
    }

    /// With [`host`](Self::host): also removes `prefix` from the start of hosts
    /// (`"api."`, say). Prefixes are tried in the order they were added; the first
    /// that matches is removed.
    pub fn strip_prefix(mut self, prefix: impl Into<String>) -> Identify {
        if let Rule::Host { strip, .. } = &mut self.rule {
            strip.push(prefix.into().to_ascii_lowercase());
        }
        self
    }

    /// With [`host`](Self::host): requests to `host` (after lowercasing and prefix
    /// removal) go to `service`, so several hosts share one breaker.
    pub fn alias(mut self, host: impl Into<String>, service: impl Into<String>) -> Identify {
        if let Rule::Host { aliases, .. } = &mut self.rule {
            let host = host.into().to_ascii_lowercase();
            let host = crate::breaker::name::bare_host(&host);
            aliases.insert(strip(host, &["www.".to_owned()]).to_owned(), service.into());
        }
        self
    }

    /// By path: the service of the longest `(prefix, service)` pair whose prefix
    /// starts the request's path (at a `/` boundary: `/api` matches `/api/x`, not
    /// `/apix`).
    pub fn path_prefixes<P, S>(pairs: impl IntoIterator<Item = (P, S)>) -> Identify
    where
        P: Into<String>,
        S: Into<String>,
    {
        let mut pairs: Vec<(String, String)> =
            pairs.into_iter().map(|(p, s)| (p.into().trim_end_matches('/').to_owned(), s.into())).collect();
        pairs.sort_by_key(|pair| std::cmp::Reverse(pair.0.len()));
        Identify { rule: Rule::PathPrefixes(pairs) }
    }

    /// By a request header naming the service (`x-service-name` with
    /// [`service_header`](Self::service_header)).
    pub fn header(name: HeaderName) -> Identify {
        Identify { rule: Rule::Header(name) }
    }

    /// By the `x-service-name` header.
    pub fn service_header() -> Identify {
        Identify::header(HeaderName::from_static("x-service-name"))
    }

    /// By the gRPC service of the path `/package.Service/Method`: `package.Service`.
    /// The default of [`CircuitBreakerLayer::grpc`](super::CircuitBreakerLayer::grpc).
    pub fn grpc_service() -> Identify {
        Identify { rule: Rule::Grpc }
    }

    /// Every request goes to `service`.
    pub fn service(service: impl Into<String>) -> Identify {
        Identify { rule: Rule::Named(service.into()) }
    }

    /// By a function of the request; `None` when it cannot tell.
    pub fn with<F>(f: F) -> Identify
    where
        F: Fn(&RequestHead<'_>) -> Option<String> + Send + Sync + 'static,
    {
        Identify { rule: Rule::Custom(Arc::new(f)) }
    }

    /// By host alone, if that is the rule: the service of requests to `host`.
    #[cfg(feature = "reqwest")]
    pub(crate) fn service_of_host<'a>(&'a self, host: &'a str) -> Option<Option<Cow<'a, str>>> {
        match &self.rule {
            Rule::Host { strip: prefixes, aliases } => Some(host_service(host, prefixes, aliases)),
            _ => None,
        }
    }

    /// Whether identification is by host alone (so that the service of a request
    /// follows from its URI's authority).
    pub(crate) fn by_host(&self) -> bool {
        matches!(self.rule, Rule::Host { .. })
    }

    /// The one service every request goes to, if identification is by a fixed name.
    pub(crate) fn fixed(&self) -> Option<&str> {
        match &self.rule {
            Rule::Named(name) => Some(name),
            _ => None,
        }
    }

    /// The service of a request, if it can be told.
    pub fn service_of<'a>(&'a self, head: &RequestHead<'a>) -> Option<Cow<'a, str>> {
        match &self.rule {
            Rule::Host { strip: prefixes, aliases } => host_service(head.host()?, prefixes, aliases),
            Rule::PathPrefixes(pairs) => {
                let path = head.uri.path();
                pairs
                    .iter()
                    .find(|(prefix, _)| {
                        path.strip_prefix(prefix.as_str())
                            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || prefix.is_empty())
                    })
                    .map(|(_, service)| Cow::Borrowed(service.as_str()))
            }
            Rule::Header(name) => {
                let value = head.headers.get(name)?.to_str().ok()?.trim();
                (!value.is_empty()).then_some(Cow::Borrowed(value))
            }
            Rule::Grpc => {
                let service = head.uri.path().strip_prefix('/')?.split('/').next()?;
                (!service.is_empty()).then_some(Cow::Borrowed(service))
            }
            Rule::Named(name) => Some(Cow::Borrowed(name)),
            Rule::Custom(f) => f(head).map(Cow::Owned),
        }
    }
}

/// The service of `host`: lowercased, without a prefix, through the aliases.
fn host_service<'a>(
    host: &'a str,
    prefixes: &[String],
    aliases: &'a HashMap<String, String>,
) -> Option<Cow<'a, str>> {
    let host = crate::breaker::name::bare_host(host);
    let host: Cow<'a, str> = if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    };
    let host = match host {
        Cow::Borrowed(host) => Cow::Borrowed(strip(host, prefixes)),
        Cow::Owned(host) => Cow::Owned(strip(&host, prefixes).to_owned()),
    };
    if host.is_empty() {
        return None;
    }
    match aliases.get(host.as_ref()) {
        Some(service) => Some(Cow::Borrowed(service)),
        // Every host has a breaker: one that is no valid name (an IPv6 address, a
        // name longer than a service's) is made one.
        None => Some(crate::breaker::name::of_host(host)),
    }
}

/// `host` without the first of `prefixes` that starts it.
fn strip<'h>(host: &'h str, prefixes: &[String]) -> &'h str {
    prefixes.iter().find_map(|p| host.strip_prefix(p.as_str())).unwrap_or(host)
}

impl fmt::Debug for Identify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule {
            Rule::Host { strip, aliases } => {
                f.debug_struct("Host").field("strip", strip).field("aliases", aliases).finish()
            }
            Rule::PathPrefixes(pairs) => f.debug_tuple("PathPrefixes").field(pairs).finish(),
            Rule::Header(name) => f.debug_tuple("Header").field(name).finish(),
            Rule::Grpc => f.write_str("GrpcService"),
            Rule::Named(name) => f.debug_tuple("Service").field(name).finish(),
            Rule::Custom(_) => f.write_str("Custom"),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn service(identify: &Identify, request: &http::Request<()>) -> Option<String> {
        identify.service_of(&RequestHead::of(request)).map(Cow::into_owned)
    }

    #[test]
    fn hosts_are_normalised() {
        let id = Identify::host().strip_prefix("api.");
        let get = |uri: &str| service(&id, &http::Request::get(uri).body(()).unwrap());
        assert_eq!(get("http://Example.COM:8080/x").as_deref(), Some("example.com"));
        assert_eq!(get("http://www.example.com/").as_deref(), Some("example.com"));
        assert_eq!(get("http://api.example.com/").as_deref(), Some("example.com"));
        assert_eq!(get("http://127.0.0.1:3000/").as_deref(), Some("127.0.0.1"));
        assert_eq!(get("/relative"), None);
        // IPv6 addresses, and names longer than a service's, are made valid names.
        assert_eq!(get("http://[::1]:8080/x").as_deref(), Some("__1"));
        assert_eq!(get("http://Example.com./").as_deref(), Some("example.com"));
        let long = format!("http://{}.example/", "a".repeat(200));
        crate::breaker::name::validate(&get(&long).unwrap()).unwrap();
        let aliased = Identify::host().alias("[::1]", "local");
        let request = http::Request::get("/x").header("host", "[::1]:9000").body(()).unwrap();
        assert_eq!(service(&aliased, &request).as_deref(), Some("local"));
    }

    #[test]
    fn the_host_header_serves_when_the_uri_has_no_authority() {
        let id = Identify::host();
        let request = http::Request::get("/x").header("host", "Shop.Example:9000").body(()).unwrap();
        assert_eq!(service(&id, &request).as_deref(), Some("shop.example"));
    }

    #[test]
    fn path_prefixes_match_the_longest_at_a_segment_boundary() {
        let id = Identify::path_prefixes([("/api", "api"), ("/api/users/", "users")]);
        let get = |uri: &str| service(&id, &http::Request::get(uri).body(()).unwrap());
        assert_eq!(get("/api/users/1").as_deref(), Some("users"));
        assert_eq!(get("/api/users").as_deref(), Some("users"));
        assert_eq!(get("/api/orders").as_deref(), Some("api"));
        assert_eq!(get("/apix"), None);
    }

    #[test]
    fn header_grpc_named_and_custom_rules() {
        let request =
            http::Request::post("/pkg.Svc/Do").header("x-service-name", " ledger ").body(()).unwrap();
        assert_eq!(service(&Identify::service_header(), &request).as_deref(), Some("ledger"));
        assert_eq!(service(&Identify::grpc_service(), &request).as_deref(), Some("pkg.Svc"));
        assert_eq!(service(&Identify::service("fixed"), &request).as_deref(), Some("fixed"));
        let custom = Identify::with(|head| Some(format!("by-{}", head.method.as_str().to_lowercase())));
        assert_eq!(service(&custom, &request).as_deref(), Some("by-post"));
        let nothing = http::Request::get("/").body(()).unwrap();
        assert_eq!(service(&Identify::service_header(), &nothing), None);
        assert_eq!(service(&Identify::grpc_service(), &nothing), None);
    }
}
