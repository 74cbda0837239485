//! Who may talk to the viewer: the `Host` check (against DNS rebinding) and,
//! when bound beyond the loopback interface, the access token.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::App;

/// What requests must carry.
#[derive(Debug, Clone)]
pub struct Guard {
    /// The bound port.
    pub port: u16,
    /// Accepted `Host` names (without the port).
    pub hosts: Vec<String>,
    /// The access token, when bound beyond loopback.
    pub token: Option<String>,
}

/// The cookie that carries the token after the first visit. Cookies do not
/// tell ports apart, so its name has the port: two viewers on one host keep
/// their own.
pub fn cookie_name(port: u16) -> String {
    format!("llm_traced_token_{port}")
}

impl Guard {
    /// Whether a `Host` header names this server.
    pub fn host_ok(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        let (name, port) = if let Some(rest) = host.strip_prefix('[') {
            // [::1]:7300
            match rest.split_once(']') {
                Some((name, tail)) => (name.to_owned(), tail.strip_prefix(':').map(str::to_owned)),
                None => return false,
            }
        } else {
            match host.rsplit_once(':') {
                Some((name, port)) => (name.to_owned(), Some(port.to_owned())),
                None => (host.clone(), None),
            }
        };
        let port_ok = match port {
            Some(p) => p.parse::<u16>().ok() == Some(self.port),
            None => self.port == 80,
        };
        port_ok && self.hosts.contains(&name)
    }

    fn token_ok(&self, query: Option<&str>, cookies: Option<&str>) -> (bool, bool) {
        let Some(token) = &self.token else {
            return (true, false);
        };
        let in_query = form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .any(|(k, v)| k == "token" && same(v.as_bytes(), token.as_bytes()));
        if in_query {
            return (true, true);
        }
        let name = cookie_name(self.port);
        let in_cookie = cookies.unwrap_or("").split(';').any(|c| {
            c.trim()
                .split_once('=')
                .is_some_and(|(k, v)| k == name && same(v.as_bytes(), token.as_bytes()))
        });
        (in_cookie, false)
    }
}

/// Compares in a time that does not depend on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The middleware: refuses foreign `Host`s and requests without the token.
pub async fn check(State(app): State<std::sync::Arc<App>>, req: Request, next: Next) -> Response {
    let guard = &app.guard;
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !guard.host_ok(host) {
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "llm-traced serve: this Host is not accepted (add it with --allow-host)\n",
        )
            .into_response();
    }
    let cookies = req
        .headers()
        .get(header::COOKIE)
        .and_then(|c| c.to_str().ok());
    let (ok, from_query) = guard.token_ok(req.uri().query(), cookies);
    if !ok {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "llm-traced serve: open the URL with the access token printed when the viewer started\n",
        )
            .into_response();
    }
    let started = std::time::Instant::now();
    let mut response = next.run(req).await;
    // The server's own time to the response's head (the benchmark reads it).
    if let Ok(v) = HeaderValue::from_str(&format!(
        "app;dur={:.2}",
        started.elapsed().as_secs_f64() * 1000.0
    )) {
        response.headers_mut().insert("server-timing", v);
    }
    if from_query {
        if let Some(token) = &guard.token {
            if let Ok(v) = HeaderValue::from_str(&format!(
                "{}={token}; HttpOnly; SameSite=Strict; Path=/",
                cookie_name(guard.port)
            )) {
                response.headers_mut().insert(header::SET_COOKIE, v);
            }
        }
    }
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// A random token: 128 bits from the operating system, in hex.
pub fn new_token() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness for the token: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> Guard {
        Guard {
            port: 7300,
            hosts: vec!["127.0.0.1".into(), "localhost".into(), "::1".into()],
            token: Some("abc".into()),
        }
    }

    #[test]
    fn hosts() {
        let g = guard();
        assert!(g.host_ok("127.0.0.1:7300"));
        assert!(g.host_ok("localhost:7300"));
        assert!(g.host_ok("LOCALHOST:7300"));
        assert!(g.host_ok("[::1]:7300"));
        assert!(!g.host_ok("localhost:7301"));
        assert!(!g.host_ok("evil.example:7300"));
        assert!(!g.host_ok("127.0.0.1.evil.example:7300"));
        assert!(!g.host_ok(""));
        assert!(!g.host_ok("localhost"));
    }

    #[test]
    fn tokens() {
        let g = guard();
        assert_eq!(g.token_ok(Some("token=abc"), None), (true, true));
        assert_eq!(g.token_ok(Some("token=abd"), None), (false, false));
        let ok = |c: &str| g.token_ok(None, Some(c));
        assert_eq!(ok("a=b; llm_traced_token_7300=abc"), (true, false));
        assert_eq!(ok("llm_traced_token_7300=ab"), (false, false));
        // Another viewer's cookie, or one without the port.
        assert_eq!(ok("llm_traced_token_7301=abc"), (false, false));
        assert_eq!(ok("llm_traced_token=abc"), (false, false));
        assert_eq!(g.token_ok(None, None), (false, false));
    }
}
