use super::*;

fn run_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("glomers-html-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("node-logs")).expect("temp dir");
    d
}

/// The text of the data block `id` in `page`, and whether it is marked missing.
fn block<'a>(page: &'a str, id: &str) -> Option<(&'a str, bool)> {
    let open = format!("id=\"{id}\"");
    let at = page.find(&open)?;
    let start = at + page[at..].find('>')? + 1;
    let end = start + page[start..].find("</script>")?;
    Some((&page[start..end], page[at..start].contains("data-missing")))
}

#[test]
fn data_blocks_hold_the_run_files_and_cannot_close_their_script() {
    let d = run_dir("blocks");
    let evil = r#"{"id":1,"src":"n0","dest":"n1","type":"x","sent":0,"fate":"delivered","at":5,"body":{"type":"x","s":"</script><script>alert(1)</script><!--"}}"#;
    std::fs::write(d.join(crate::journal::FILE), format!("{evil}\n")).expect("write");
    std::fs::write(
        d.join("results.json"),
        r#"{"valid": true, "nodes": ["n0"]}"#,
    )
    .expect("write");
    std::fs::write(d.join("node-logs/n0.log"), "[   0.000100] hello <b>\n").expect("write");
    write(&d).expect("page written");
    let page = std::fs::read_to_string(d.join(FILE)).expect("page");
    let (messages, missing) = block(&page, "messages").expect("messages block");
    assert!(!missing);
    assert!(!messages.contains('<'), "{messages}");
    let parsed: serde_json::Value = serde_json::from_str(messages.trim()).expect("still JSON");
    let original: serde_json::Value = serde_json::from_str(evil).expect("JSON");
    assert_eq!(parsed, original);
    let (logs, _) = block(&page, "logs").expect("logs block");
    let logs: serde_json::Value = serde_json::from_str(logs).expect("logs JSON");
    assert_eq!(logs["n0"]["text"], "[   0.000100] hello <b>\n");
    let (history, missing) = block(&page, "history").expect("history block");
    assert!(missing && history.is_empty());
    assert_eq!(page.matches("<script>").count(), SCRIPTS.len());
    assert!(!page.contains("<!--DATA-->") && !page.contains("<!--SCRIPT-->"));
    assert!(!d.join(".index.html.part").exists());
}

#[test]
fn long_node_logs_are_cut() {
    let d = run_dir("logs");
    let line = "[   1.000000] 0123456789012345678901234567890123456789\n";
    let n = (MAX_LOG_BYTES as usize / line.len()) + 10;
    std::fs::write(d.join("node-logs/n3.log"), line.repeat(n)).expect("write");
    write(&d).expect("page written");
    let page = std::fs::read_to_string(d.join(FILE)).expect("page");
    let (logs, _) = block(&page, "logs").expect("logs block");
    let logs: serde_json::Value = serde_json::from_str(logs).expect("logs JSON");
    let text = logs["n3"]["text"].as_str().expect("text");
    assert_eq!(text.len() as u64, MAX_LOG_BYTES);
    assert_eq!(logs["n3"]["bytes"].as_u64(), Some((line.len() * n) as u64));
}
