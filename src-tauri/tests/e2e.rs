//! End to end: the real app in a real window (Xvfb), driven through WebDriver
//! (`tauri-driver` + `WebKitWebDriver`). Create a document, type, quit, relaunch: the
//! text is there (and on disk). Screenshots of each step go to `target/e2e/`.
//!
//! Needs `Xvfb`, `WebKitWebDriver` (Debian `webkit2gtk-driver`) and `tauri-driver`
//! (`cargo install tauri-driver --locked`); `scripts/test` installs them. Where one is
//! missing the test says which and fails, unless `QUIRE_E2E=skip` asks to skip.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Kills a child process when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn tool(name: &str) -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .chain(home.map(|h| h.join(".cargo/bin")))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// One WebDriver call over plain HTTP/1.1.
fn call(port: u16, method: &str, path: &str, body: Option<Value>) -> Value {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
    let mut content = raw[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        content = dechunk(&content);
    }
    let value: Value = serde_json::from_slice(&content).unwrap_or(Value::Null);
    assert!(
        value["value"].get("error").is_none(),
        "{method} {path}: {}",
        value["value"]
    );
    value["value"].clone()
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 4 + size..];
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let clean: Vec<u8> = text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .collect();
    let mut out = Vec::new();
    for chunk in clean.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, c)| n | u32::from(value(*c)) << (18 - 6 * i));
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

struct Session {
    port: u16,
    id: String,
}

impl Session {
    fn start(port: u16, app: &Path) -> Self {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "wry",
            "tauri:options": {"application": app}
        }}});
        let value = call(port, "POST", "/session", Some(caps));
        Self {
            port,
            id: value["sessionId"].as_str().unwrap().to_owned(),
        }
    }

    fn script(&self, script: &str) -> Value {
        call(
            self.port,
            "POST",
            &format!("/session/{}/execute/sync", self.id),
            Some(json!({"script": script, "args": []})),
        )
    }

    fn wait_for(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let value = self.script(script);
            if !value.is_null() && value != json!(false) {
                return value;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn type_into(&self, css: &str, text: &str) {
        let element = call(
            self.port,
            "POST",
            &format!("/session/{}/element", self.id),
            Some(json!({"using": "css selector", "value": css})),
        );
        let element_id = element
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap()
            .to_owned();
        call(
            self.port,
            "POST",
            &format!("/session/{}/element/{element_id}/value", self.id),
            Some(json!({"text": text})),
        );
    }

    fn screenshot(&self, path: &Path) {
        let data = call(
            self.port,
            "GET",
            &format!("/session/{}/screenshot", self.id),
            None,
        );
        std::fs::write(path, base64_decode(data.as_str().unwrap())).unwrap();
    }

    fn quit(self) {
        call(self.port, "DELETE", &format!("/session/{}", self.id), None);
    }
}

#[test]
fn a_document_typed_in_the_app_is_there_after_a_relaunch() {
    let tools = ["Xvfb", "WebKitWebDriver", "tauri-driver"].map(|t| (t, tool(t)));
    let missing: Vec<&str> = tools
        .iter()
        .filter(|(_, p)| p.is_none())
        .map(|(t, _)| *t)
        .collect();
    if !missing.is_empty() {
        if std::env::var("QUIRE_E2E").as_deref() == Ok("skip") {
            println!("SKIPPED (QUIRE_E2E=skip): missing {missing:?}");
            return;
        }
        panic!("end-to-end test needs {missing:?}; scripts/test installs them");
    }
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e");
    std::fs::create_dir_all(&shots).unwrap();
    let data = tempfile::tempdir().unwrap();
    let display = format!(":{}", 100 + free_port() % 800);
    let _xvfb = Running(
        Command::new(tools[0].1.as_ref().unwrap())
            .args([display.as_str(), "-screen", "0", "1280x800x24"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(500));
    let (port, native) = (free_port(), free_port());
    let _driver = Running(
        Command::new(tools[2].1.as_ref().unwrap())
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .env("DISPLAY", &display)
            .env("QUIRE_DATA_DIR", data.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "tauri-driver did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let app = Path::new(env!("CARGO_BIN_EXE_quire-app"));

    // First run: an empty app; make a document and type.
    let first = Session::start(port, app);
    first.wait_for(
        "the app",
        "return document.querySelector('button.primary') !== null",
    );
    first.screenshot(&shots.join("01-first-run.png"));
    first.script("document.querySelector('button.primary').click(); return true");
    first.wait_for(
        "the editor",
        "return document.querySelector('.cm-content') !== null",
    );
    const TEXT: &str = "Typed in a real window, kept across a relaunch.";
    first.type_into(".cm-content", TEXT);
    first.wait_for(
        "the text in the editor",
        &format!("return document.querySelector('.cm-content').textContent.includes({TEXT:?})"),
    );
    // The bridge sends edits to the engine, which answers once they are durable.
    std::thread::sleep(Duration::from_secs(2));
    first.screenshot(&shots.join("02-typed.png"));
    first.quit();

    // On disk, as another process sees it once the app has let go of the folder.
    let on_disk = tauri::async_runtime::block_on(async {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match quire_engine::Engine::open(quire_engine::EngineConfig::new(data.path())).await {
                Ok(engine) => {
                    let docs = engine.list().await.unwrap();
                    assert_eq!(docs.len(), 1, "one document was made");
                    let text = engine.text(docs[0].id).await.unwrap();
                    engine.close().await.unwrap();
                    break text;
                }
                Err(quire_engine::EngineError::Busy(_)) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => panic!("{e}"),
            }
        }
    });
    assert!(on_disk.contains(TEXT), "on disk: {on_disk:?}");

    // Relaunch: the document is listed, and opening it shows the text.
    let second = Session::start(port, app);
    second.wait_for(
        "the document list",
        "return document.querySelector('button.doc-open') !== null",
    );
    second.script("document.querySelector('button.doc-open').click(); return true");
    second.wait_for(
        "the text after a relaunch",
        &format!("const c = document.querySelector('.cm-content'); return c !== null && c.textContent.includes({TEXT:?})"),
    );
    second.screenshot(&shots.join("03-relaunched.png"));
    second.quit();
}
