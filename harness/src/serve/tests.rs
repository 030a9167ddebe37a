use super::*;

/// A store with one run folder, a file beside the store (which must stay out of reach) and
/// a link inside the store pointing out of it.
fn fixture(tag: &str) -> (PathBuf, PathBuf) {
    let base = std::env::temp_dir().join(format!("glomers-serve-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let run = base.join("store/broadcast/20260101T000000.000");
    std::fs::create_dir_all(&run).expect("dirs");
    std::fs::write(
        run.join("results.json"),
        r#"{"valid": "invalid", "nodes": ["n0","n1"], "net": {"all": {"msg_count": 42}}}"#,
    )
    .expect("write");
    std::fs::write(run.join("index.html"), "<p>run page</p>").expect("write");
    std::fs::write(base.join("secret.txt"), "SECRET").expect("write");
    #[cfg(unix)]
    std::os::unix::fs::symlink(base.join("secret.txt"), run.join("escape.txt")).expect("link");
    let root = std::fs::canonicalize(base.join("store")).expect("canonical");
    (base, root)
}

#[test]
fn paths_stay_inside_the_store() {
    let (_base, root) = fixture("resolve");
    let run = root.join("broadcast/20260101T000000.000");
    assert_eq!(
        resolve(&root, "/broadcast/20260101T000000.000/results.json?x=1"),
        Ok(run.join("results.json"))
    );
    assert_eq!(resolve(&root, "/broadcast//"), Ok(root.join("broadcast")));
    for bad in [
        "/../secret.txt",
        "/broadcast/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/broadcast/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/.",
        "/a%00b",
        "/..%5csecret.txt",
        "/%zz",
        "secret.txt",
    ] {
        assert_eq!(resolve(&root, bad), Err(Refused::BadPath), "{bad}");
    }
    assert_eq!(resolve(&root, "/nothing-here"), Err(Refused::NotFound));
    #[cfg(unix)]
    assert_eq!(
        resolve(&root, "/broadcast/20260101T000000.000/escape.txt"),
        Err(Refused::Outside)
    );
}

async fn get(addr: SocketAddr, raw: &str) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(raw.as_bytes()).await.expect("send");
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.expect("read");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn serves_runs_and_refuses_what_is_outside() {
    let (_base, root) = fixture("live");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(serve_on(listener, root));
    let index = get(addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(index.starts_with("HTTP/1.1 200"), "{index}");
    assert!(index.contains("href=\"broadcast/20260101T000000.000/index.html\""));
    assert!(index.contains("class=\"invalid\">invalid") && index.contains("<td>42</td>"));
    let page = get(
        addr,
        "GET /broadcast/20260101T000000.000/index.html HTTP/1.1\r\n\r\n",
    )
    .await;
    assert!(
        page.contains("text/html") && page.ends_with("<p>run page</p>"),
        "{page}"
    );
    for (target, code) in [
        ("/../secret.txt", "400"),
        ("/%2e%2e/secret.txt", "400"),
        ("/broadcast/20260101T000000.000/escape.txt", "403"),
        ("/missing", "404"),
    ] {
        let r = get(addr, &format!("GET {target} HTTP/1.1\r\n\r\n")).await;
        assert!(r.starts_with(&format!("HTTP/1.1 {code}")), "{target}: {r}");
        assert!(!r.contains("SECRET"), "{target}");
    }
    let post = get(addr, "POST / HTTP/1.1\r\n\r\n").await;
    assert!(post.starts_with("HTTP/1.1 405"));
    let head = get(
        addr,
        "HEAD /broadcast/20260101T000000.000/index.html HTTP/1.1\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200") && !head.contains("run page"));
    let huge = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_HEAD * 2));
    assert!(get(addr, &huge).await.starts_with("HTTP/1.1 400"));
}

#[test]
fn escaping_keeps_markup_out() {
    assert_eq!(
        pages::escape("<a href='x'>&\"</a>"),
        "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
    );
}
