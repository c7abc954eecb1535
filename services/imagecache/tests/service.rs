//! The whole service over its real listeners: one download for a hundred
//! concurrent Ensures, LRU quota sparing pinned images, pin/evict semantics,
//! HTTP serving with ranges, and never serving a partial download.

mod common;

use std::time::Duration;

use common::{
    Mode, Origin, Running, eventually, files_in, grpc_ensure, image_bytes, request, settings, sha256_hex,
};
use ferric_proto::v1::{
    EnsurePhase, EvictRequest, ImageRef, ListRequest, PinRequest, StatRequest, UnpinRequest, image_ref,
};
use tokio::sync::{mpsc, watch};
use tonic::Code;

const MIB: usize = 1 << 20;

fn by_id(id: &str) -> Option<ImageRef> {
    Some(ImageRef { kind: Some(image_ref::Kind::Id(id.into())) })
}

fn by_url(url: &str) -> Option<ImageRef> {
    Some(ImageRef { kind: Some(image_ref::Kind::Url(url.into())) })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_ensures_make_one_download() {
    let dir = tempfile::tempdir().unwrap();
    let origin = Origin::start().await;
    let bytes = image_bytes(8 * MIB, 20);
    let sha256 = sha256_hex(&bytes);
    let (open_gate, gate) = watch::channel(false);
    let url = origin.put("/rack.img", bytes.clone(), Mode::Gated(gate));
    let service = Running::start(settings(dir.path(), dir.path())).await;

    // Each caller reports its first event, then waits for the outcome.
    let (first_tx, mut first_rx) = mpsc::channel(100);
    let mut callers = Vec::new();
    for _ in 0..100 {
        let mut client = service.client.clone();
        let first_tx = first_tx.clone();
        let request = request(&url, &sha256, "");
        callers.push(tokio::spawn(async move {
            use ferric_proto::v1::ensure_response::Event;
            let mut stream = client.ensure(request).await?.into_inner();
            let mut progress = Vec::new();
            let mut reported = false;
            while let Some(message) = stream.message().await? {
                match message.event {
                    Some(Event::Progress(p)) => {
                        progress.push(p);
                        if !reported {
                            reported = true;
                            let _ = first_tx.send(()).await;
                        }
                    }
                    Some(Event::Ready(image)) => return Ok((progress, image)),
                    None => {}
                }
            }
            Err(tonic::Status::internal("no ready"))
        }));
    }
    drop(first_tx);
    // All hundred are waiting on the download before the origin sends a byte.
    for _ in 0..100 {
        tokio::time::timeout(Duration::from_secs(20), first_rx.recv()).await.unwrap().unwrap();
    }
    assert!(eventually(Duration::from_secs(10), || origin.gets("/rack.img") == 1).await);
    open_gate.send(true).unwrap();

    let mut ids = Vec::new();
    for caller in callers {
        let (progress, image) = caller.await.unwrap().unwrap();
        assert!(!progress.is_empty());
        assert!(progress.iter().all(|p| p.phase != EnsurePhase::Unspecified as i32));
        ids.push(image.id);
    }
    assert!(ids.iter().all(|id| *id == sha256));
    assert_eq!(origin.gets("/rack.img"), 1, "one upstream download for 100 requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_evicts_least_recently_used_but_never_pinned() {
    let dir = tempfile::tempdir().unwrap();
    let origin = Origin::start().await;
    let mut settings = settings(dir.path(), dir.path());
    settings.max_bytes = 3 * MIB as u64 + 1000;
    let mut service = Running::start(settings).await;
    let client = &mut service.client;
    let mut urls = Vec::new();
    let mut ids = Vec::new();
    for (i, name) in ["a", "b", "c", "d", "e"].into_iter().enumerate() {
        let bytes = image_bytes(MIB, 30 + i as u64);
        urls.push(origin.put(&format!("/{name}.img"), bytes.clone(), Mode::Good));
        ids.push(sha256_hex(&bytes));
    }
    // a is pinned by its Ensure; b then c are used after it.
    let (_, a) = grpc_ensure(client, request(&urls[0], "", "node-a")).await;
    assert_eq!(a.unwrap().pinned_by, ["node-a"]);
    for url in &urls[1..3] {
        grpc_ensure(client, request(url, "", "")).await.1.unwrap();
    }
    // d does not fit: b, the least recently used unpinned image, goes; not a.
    grpc_ensure(client, request(&urls[3], "", "")).await.1.unwrap();
    let stat = |id: &str| StatRequest { image: by_id(id) };
    assert_eq!(client.stat(stat(&ids[1])).await.unwrap_err().code(), Code::NotFound);
    for id in [&ids[0], &ids[2], &ids[3]] {
        client.stat(stat(id)).await.unwrap();
    }
    assert!(!files_in(&dir.path().join("images")).contains(&ids[1]));

    // With everything else pinned, e cannot fit.
    for (id, holder) in [(&ids[2], "node-c"), (&ids[3], "node-d")] {
        let pinned = client.pin(PinRequest { image: by_id(id), holder: holder.into() }).await.unwrap();
        assert_eq!(pinned.into_inner().pinned_by, [holder]);
    }
    let (_, e) = grpc_ensure(client, request(&urls[4], "", "")).await;
    assert_eq!(e.unwrap_err().code(), Code::ResourceExhausted);
    assert!(files_in(&dir.path().join("tmp")).is_empty());

    // Pinned images refuse eviction unless forced; unpinned go; eviction is idempotent.
    let evict = |image, force| EvictRequest { image, force };
    assert_eq!(
        client.evict(evict(by_url(&urls[0]), false)).await.unwrap_err().code(),
        Code::FailedPrecondition
    );
    let left = client.unpin(UnpinRequest { image: by_url(&urls[0]), holder: "node-a".into() }).await.unwrap();
    assert!(left.into_inner().pinned_by.is_empty());
    assert!(client.evict(evict(by_url(&urls[0]), false)).await.unwrap().into_inner().evicted);
    assert!(!client.evict(evict(by_id(&ids[0]), false)).await.unwrap().into_inner().evicted);
    assert!(client.evict(evict(by_id(&ids[2]), true)).await.unwrap().into_inner().evicted);
    // Now e fits.
    grpc_ensure(client, request(&urls[4], "", "")).await.1.unwrap();

    let page =
        client.list(ListRequest { page_size: 1, page_token: String::new() }).await.unwrap().into_inner();
    assert_eq!(page.images.len(), 1);
    let rest = client
        .list(ListRequest { page_size: 10, page_token: page.next_page_token })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.images.len(), 1);
    assert!(rest.next_page_token.is_empty());
    assert_eq!(
        client.pin(PinRequest { image: by_id(&ids[1]), holder: "x".into() }).await.unwrap_err().code(),
        Code::NotFound
    );
    assert_eq!(
        client.pin(PinRequest { image: None, holder: "x".into() }).await.unwrap_err().code(),
        Code::InvalidArgument
    );
    assert_eq!(
        client.pin(PinRequest { image: by_id(&ids[3]), holder: " ".into() }).await.unwrap_err().code(),
        Code::InvalidArgument
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_invalid_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let mut service = Running::start(settings(dir.path(), dir.path())).await;
    for (url, checksum) in [("ftp://x/y", ""), ("", ""), ("http://o/x", "zz"), ("http://o/x", "abc")] {
        let (_, result) = grpc_ensure(&mut service.client, request(url, checksum, "")).await;
        assert_eq!(result.unwrap_err().code(), Code::InvalidArgument, "{url} {checksum}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_serves_ranges_and_head_and_never_a_partial_download() {
    let dir = tempfile::tempdir().unwrap();
    let origin = Origin::start().await;
    let bytes = image_bytes(2 * MIB + 5, 40);
    let id = sha256_hex(&bytes);
    let (open_gate, gate) = watch::channel(false);
    let url = origin.put("/disk.img", bytes.clone(), Mode::Gated(gate));
    let mut service = Running::start(settings(dir.path(), dir.path())).await;
    let http = reqwest::Client::new();
    let image_url = format!("http://{}/images/{id}", service.http);

    let mut client = service.client.clone();
    let ensure = tokio::spawn({
        let url = url.clone();
        async move { grpc_ensure(&mut client, request(&url, "", "")).await }
    });
    assert!(eventually(Duration::from_secs(10), || origin.gets("/disk.img") == 1).await);
    // Mid-download: not served.
    assert_eq!(http.get(&image_url).send().await.unwrap().status(), 404);
    open_gate.send(true).unwrap();
    let (_, image) = ensure.await.unwrap();
    let image = image.unwrap();
    assert_eq!(image.http_url, image_url);
    assert_eq!(image.sha256, id);

    let full = http.get(&image_url).send().await.unwrap();
    assert_eq!(full.status(), 200);
    assert_eq!(full.content_length(), Some(bytes.len() as u64));
    assert_eq!(full.bytes().await.unwrap(), bytes);

    let head = http.head(&image_url).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"], bytes.len().to_string().as_str());
    assert!(head.bytes().await.unwrap().is_empty());

    let part = http.get(&image_url).header("range", "bytes=1000-1999").send().await.unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"], format!("bytes 1000-1999/{}", bytes.len()).as_str());
    assert_eq!(part.bytes().await.unwrap(), bytes[1000..2000]);
    let tail =
        http.get(&image_url).header("range", format!("bytes={}-", bytes.len() - 7)).send().await.unwrap();
    assert_eq!(tail.bytes().await.unwrap(), bytes[bytes.len() - 7..]);

    let base = format!("http://{}/images/", service.http);
    for bad in ["0".repeat(64), "../meta".into(), "x".into()] {
        assert_eq!(http.get(format!("{base}{bad}")).send().await.unwrap().status(), 404, "{bad}");
    }

    // Many clients at once get identical bytes.
    let downloads: Vec<_> = (0..16)
        .map(|_| {
            let (http, url) = (http.clone(), image_url.clone());
            tokio::spawn(async move { http.get(url).send().await?.bytes().await })
        })
        .collect();
    for d in downloads {
        assert_eq!(d.await.unwrap().unwrap(), bytes);
    }

    // Shutdown ends `run`.
    service.shutdown();
    let task = &mut service.task;
    tokio::time::timeout(Duration::from_secs(20), task).await.unwrap().unwrap().unwrap();
}
