//! The server and client layers end to end, with in-process services: trace
//! context crosses the hop, and every request lands in the metrics with its final
//! status however the response ends.

use std::convert::Infallible;

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use ferric_telemetry::propagation::{current_trace_id, extract_headers, trace_id};
use ferric_telemetry::{InjectTrace, TelemetryConfig, grpc_layer, http_layer, metrics_handle};
use http_body::Frame;
use http_body_util::{BodyExt as _, Empty, StreamBody};
use tower::{Layer as _, ServiceExt as _, service_fn};
use tracing::Instrument as _;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn init() {
    // Every test calls this; only the first call in the binary installs anything.
    let guard = ferric_telemetry::init(TelemetryConfig { service_name: "test".into(), ..Default::default() });
    assert!(guard.is_ok());
    std::mem::forget(guard);
}

type GrpcBody = StreamBody<futures_util::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>>;

/// A gRPC-shaped response: one data frame, then trailers with `code`.
fn streamed(code: &str) -> http::Response<GrpcBody> {
    let mut trailers = http::HeaderMap::new();
    trailers.insert("grpc-status", code.parse().unwrap_or(http::HeaderValue::from_static("2")));
    let frames = vec![Ok(Frame::data(Bytes::from_static(b"payload"))), Ok(Frame::trailers(trailers))];
    http::Response::new(StreamBody::new(futures_util::stream::iter(frames)))
}

fn grpc_request(path: &str) -> http::Request<Empty<Bytes>> {
    let mut request = http::Request::new(Empty::new());
    *request.uri_mut() = path.parse().unwrap_or_default();
    request
}

fn sample(metric: &str, parts: &[&str]) -> Option<String> {
    metrics_handle()
        .render()
        .lines()
        .find(|l| l.starts_with(metric) && parts.iter().all(|p| l.contains(p)))
        .map(str::to_owned)
}

#[tokio::test]
async fn grpc_server_span_joins_callers_trace() {
    init();
    let svc = grpc_layer("trace-test").layer(service_fn(|_req: http::Request<Empty<Bytes>>| async move {
        // The handler runs inside the request span, parented on the caller.
        let seen = current_trace_id().unwrap_or_default();
        let mut response = streamed("0");
        response
            .headers_mut()
            .insert("seen-trace", seen.parse().unwrap_or(http::HeaderValue::from_static("")));
        Ok::<_, Infallible>(response)
    }));
    let mut request = grpc_request("/ferric.test.TraceService/Echo");
    request.headers_mut().insert("traceparent", http::HeaderValue::from_static(TRACEPARENT));
    let response = svc.oneshot(request).await.unwrap_or_else(|e| match e {});
    assert_eq!(response.headers().get("seen-trace").and_then(|v| v.to_str().ok()), Some(TRACE_ID));
}

#[tokio::test]
async fn grpc_status_is_read_from_trailers_headers_or_cancellation() {
    init();
    // Code in trailers after a streamed body.
    let ok = grpc_layer("codes")
        .layer(service_fn(|_r: http::Request<Empty<Bytes>>| async { Ok::<_, Infallible>(streamed("5")) }));
    let response =
        ok.oneshot(grpc_request("/ferric.test.CodeService/Trailers")).await.unwrap_or_else(|e| match e {});
    let collected = response.into_body().collect().await.ok().map(|c| c.to_bytes());
    assert_eq!(collected.as_deref(), Some(&b"payload"[..]));
    let line = sample(
        "ferric_grpc_requests_total",
        &["method=\"Trailers\"", "code=\"NOT_FOUND\"", "instance=\"codes\""],
    );
    assert!(line.is_some_and(|l| l.ends_with(" 1")), "{}", metrics_handle().render());

    // Trailers-only: the status is in the headers and the body is empty.
    let unavailable = grpc_layer("codes").layer(service_fn(|_r: http::Request<Empty<Bytes>>| async {
        let mut response = http::Response::new(Empty::<Bytes>::new());
        response.headers_mut().insert("grpc-status", http::HeaderValue::from_static("14"));
        Ok::<_, Infallible>(response)
    }));
    let response = unavailable
        .oneshot(grpc_request("/ferric.test.CodeService/HeadersOnly"))
        .await
        .unwrap_or_else(|e| match e {});
    drop(response);
    assert!(
        sample("ferric_grpc_requests_total", &["method=\"HeadersOnly\"", "code=\"UNAVAILABLE\""]).is_some()
    );

    // The client goes away before the trailers.
    let cancelled = grpc_layer("codes")
        .layer(service_fn(|_r: http::Request<Empty<Bytes>>| async { Ok::<_, Infallible>(streamed("0")) }));
    let response = cancelled
        .oneshot(grpc_request("/ferric.test.CodeService/Dropped"))
        .await
        .unwrap_or_else(|e| match e {});
    drop(response);
    assert!(sample("ferric_grpc_requests_total", &["method=\"Dropped\"", "code=\"CANCELLED\""]).is_some());
    assert!(sample("ferric_grpc_request_duration_seconds_bucket", &["method=\"Dropped\""]).is_some());
}

#[tokio::test]
async fn http_layer_labels_by_matched_route() {
    init();
    let router = Router::new()
        .route("/v1/nodes/{node}", get(|| async { current_trace_id().unwrap_or_default() }))
        .layer(http_layer());

    let mut request =
        http::Request::get("/v1/nodes/1be26c0b").body(axum::body::Body::empty()).unwrap_or_default();
    request.headers_mut().insert("traceparent", http::HeaderValue::from_static(TRACEPARENT));
    let response = router.clone().oneshot(request).await.unwrap_or_else(|e| match e {});
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.ok().map(|c| c.to_bytes());
    assert_eq!(body.as_deref(), Some(TRACE_ID.as_bytes()));
    assert!(
        sample(
            "ferric_http_requests_total",
            &["route=\"/v1/nodes/{node}\"", "status=\"200\"", "method=\"GET\""]
        )
        .is_some()
    );

    let request = http::Request::get("/nowhere").body(axum::body::Body::empty()).unwrap_or_default();
    let response = router.oneshot(request).await.unwrap_or_else(|e| match e {});
    assert_eq!(response.status(), 404);
    drop(response);
    // Unrouted paths never become label values.
    assert!(sample("ferric_http_requests_total", &["/nowhere"]).is_none());
}

#[tokio::test]
async fn client_layer_injects_current_span() {
    init();
    let svc = InjectTrace::new(service_fn(|request: http::Request<()>| async move {
        Ok::<_, Infallible>(trace_id(&extract_headers(request.headers())))
    }));
    let span = tracing::info_span!("caller");
    let (sent, expected) = async {
        let expected = current_trace_id();
        (svc.oneshot(http::Request::new(())).await.unwrap_or_else(|e| match e {}), expected)
    }
    .instrument(span)
    .await;
    assert!(expected.is_some());
    assert_eq!(sent, expected);
}

#[tokio::test]
async fn metrics_router_serves_text_exposition() {
    init();
    let response = ferric_telemetry::metrics_router()
        .oneshot(http::Request::get("/metrics").body(axum::body::Body::empty()).unwrap_or_default())
        .await
        .unwrap_or_else(|e| match e {});
    assert_eq!(response.status(), 200);
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert!(content_type.is_some_and(|c| c.starts_with("text/plain")));
}

#[test]
fn init_twice_does_not_panic() {
    let first = ferric_telemetry::init(TelemetryConfig::default());
    let second = ferric_telemetry::init(TelemetryConfig::default());
    assert!(first.is_ok() && second.is_ok());
    assert!(second.is_ok_and(|g| !g.is_primary()));
    std::mem::forget(first);
}

#[tokio::test]
async fn serve_metrics_answers_and_stops_on_shutdown() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    init();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(ferric_telemetry::serve_metrics(listener, async move {
        let _ = stopped.await;
    }));

    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    let _ = stop.send(());
    let ended = server.await.ok().map(|r| r.is_ok());
    assert_eq!(ended, Some(true));
}
