//! WebDriver plumbing for the app's end-to-end tests: a virtual display, tauri-driver,
//! sessions over plain HTTP, scripts, typing and screenshots.
#![allow(dead_code, unreachable_pub)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Kills a child process when dropped.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn tool(name: &str) -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .chain(home.map(|h| h.join(".cargo/bin")))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Tries of a call that got no answer at all before the test gives up.
const NO_ANSWER_TRIES: u32 = 5;

/// One WebDriver call over plain HTTP/1.1; panics on an error reply. tauri-driver
/// sometimes closes a connection without answering (seen right after a session
/// starts): such a call, which the browser never saw, is sent again.
pub fn call(port: u16, method: &str, path: &str, body: Option<Value>) -> Value {
    let mut tries = 0;
    loop {
        tries += 1;
        match try_call(port, method, path, body.clone()) {
            Ok(value) => return value,
            Err(e) if e == NO_ANSWER && tries < NO_ANSWER_TRIES => {
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => panic!("{method} {path}: {e}"),
        }
    }
}

const NO_ANSWER: &str = "no HTTP response from the driver";

/// One WebDriver call over plain HTTP/1.1.
pub fn try_call(port: u16, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or(NO_ANSWER)?;
    let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
    let mut content = raw[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        content = dechunk(&content);
    }
    let value: Value = serde_json::from_slice(&content).unwrap_or(Value::Null);
    match value["value"].get("error") {
        Some(_) => Err(value["value"].to_string()),
        None => Ok(value["value"].clone()),
    }
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

pub fn base64_decode(text: &str) -> Vec<u8> {
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

pub struct Session {
    pub port: u16,
    pub id: String,
}

impl Session {
    pub fn start(port: u16, app: &Path) -> Self {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "wry",
            "tauri:options": {"application": app}
        }}});
        // Under load the app can be slow to come up; the driver then gives up.
        let mut attempts = 0;
        let value = loop {
            attempts += 1;
            match try_call(port, "POST", "/session", Some(caps.clone())) {
                Ok(value) => break value,
                Err(e) if attempts < 3 => {
                    eprintln!("starting a session failed ({e}); trying again");
                    std::thread::sleep(Duration::from_secs(2));
                }
                Err(e) => panic!("cannot start a WebDriver session: {e}"),
            }
        };
        Self {
            port,
            id: value["sessionId"].as_str().unwrap().to_owned(),
        }
    }

    pub fn script(&self, script: &str) -> Value {
        call(
            self.port,
            "POST",
            &format!("/session/{}/execute/sync", self.id),
            Some(json!({"script": script, "args": []})),
        )
    }

    pub fn wait_for(&self, what: &str, script: &str) -> Value {
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

    pub fn type_into(&self, css: &str, text: &str) {
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

    pub fn screenshot(&self, path: &Path) {
        let data = call(
            self.port,
            "GET",
            &format!("/session/{}/screenshot", self.id),
            None,
        );
        std::fs::write(path, base64_decode(data.as_str().unwrap())).unwrap();
    }

    pub fn quit(self) {
        call(self.port, "DELETE", &format!("/session/{}", self.id), None);
    }
}

/// A virtual display and a tauri-driver whose apps use `data` as their data folder.
pub struct Driver {
    pub port: u16,
    _driver: Running,
}

/// Starts Xvfb on a free display number; the returned guard stops it.
pub fn display() -> (String, Running) {
    let display = format!(":{}", 100 + free_port() % 800);
    let xvfb = Running(
        Command::new(tool("Xvfb").expect("Xvfb"))
            .args([display.as_str(), "-screen", "0", "1280x800x24"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(500));
    (display, xvfb)
}

impl Driver {
    pub fn start(display: &str, data: &Path) -> Self {
        let (port, native) = (free_port(), free_port());
        let driver = Running(
            Command::new(tool("tauri-driver").expect("tauri-driver"))
                .args([
                    "--port",
                    &port.to_string(),
                    "--native-port",
                    &native.to_string(),
                ])
                .env("DISPLAY", display)
                .env("QUIRE_DATA_DIR", data)
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(shots().join(format!("driver-{port}.log"))).unwrap())
                .spawn()
                .unwrap(),
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "tauri-driver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            port,
            _driver: driver,
        }
    }
}

/// Whether the end-to-end tools are here; says which are missing. Panics unless
/// `QUIRE_E2E=skip` asks to skip.
pub fn tools_present() -> bool {
    let missing: Vec<&str> = ["Xvfb", "WebKitWebDriver", "tauri-driver"]
        .into_iter()
        .filter(|t| tool(t).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("QUIRE_E2E").as_deref() == Ok("skip") {
        println!("SKIPPED (QUIRE_E2E=skip): missing {missing:?}");
        return false;
    }
    panic!("end-to-end test needs {missing:?}; scripts/test installs them");
}

/// Where screenshots go.
pub fn shots() -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Session {
    /// Reloads the page (the app's state is in the engine, not the page).
    pub fn refresh(&self) {
        call(
            self.port,
            "POST",
            &format!("/session/{}/refresh", self.id),
            Some(json!({})),
        );
    }

    /// Runs an IPC command of the app from the page and returns its result.
    pub fn invoke(&self, command: &str, args: Value) -> Value {
        let script = format!(
            "const done = arguments[arguments.length - 1]; window.__TAURI_INTERNALS__.invoke({command:?}, {args}).then(v => done({{ok: v}}), e => done({{err: String(e)}}));"
        );
        let value = call(
            self.port,
            "POST",
            &format!("/session/{}/execute/async", self.id),
            Some(json!({"script": script, "args": []})),
        );
        assert!(value.get("err").is_none(), "{command}: {}", value["err"]);
        value["ok"].clone()
    }
}

impl Session {
    /// Waits for an enabled button whose text is `label` (within `scope`, a CSS
    /// selector) and clicks it.
    pub fn click_button(&self, scope: &str, label: &str) {
        let script = format!(
            "const b = [...document.querySelectorAll({scope:?} + ' button')].find(b => b.textContent.trim() === {label:?} && !b.disabled); if (!b) return false; b.click(); return true;"
        );
        self.wait_for(&format!("the button {label:?}"), &script);
    }

    /// Sets the value of the input matched by `css` as if typed (an `input` event).
    pub fn fill(&self, css: &str, value: &str) {
        let script = format!(
            "const i = document.querySelector({css:?}); if (!i || i.offsetParent === null) return false; i.value = {value:?}; i.dispatchEvent(new Event('input', {{bubbles: true}})); return true;"
        );
        self.wait_for(&format!("the input {css}"), &script);
    }

    /// The editor's text (empty while no editor is shown), without the name labels of
    /// other people's cursors.
    pub fn editor_text(&self) -> String {
        self.script("const c = document.querySelector('.cm-content'); if (c === null) return ''; const k = c.cloneNode(true); k.querySelectorAll('.cm-ySelectionCaret, .cm-widgetBuffer').forEach(n => n.remove()); return [...k.querySelectorAll('.cm-line')].map(l => l.textContent).join('\\n').replace(/\\u2060/g, '');")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits until the editor's text satisfies `check`.
    pub fn wait_for_text(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = self.editor_text();
            if check(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the editor shows {text:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sets the name and colour other members see.
    pub fn set_name(&self, name: &str) {
        self.invoke(
            "set_settings",
            json!({"settings": {"displayName": name, "color": "#4363d8"}}),
        );
    }

    /// Makes a document with the first-run button and waits for its editor.
    pub fn create_document(&self) {
        self.wait_for(
            "the app",
            "return document.querySelector('button.primary') !== null",
        );
        self.script("document.querySelector('button.primary').click(); return true");
        self.wait_for(
            "the editor",
            "return document.querySelector('.cm-content') !== null",
        );
    }

    /// Joins with `link` through the sidebar's join form and opens the document.
    pub fn join_with_form(&self, link: &str) {
        self.click_button(".sidebar-footer", "Join with a link…");
        self.fill(".join-form input", link);
        self.click_button(".join-form", "Join");
        self.wait_for(
            "the joined document's editor",
            "return document.querySelector('.cm-content') !== null",
        );
    }
}

impl Session {
    /// The window's place and size: `[x, y, width, height]`.
    pub fn window_rect(&self) -> [i64; 4] {
        let rect = call(
            self.port,
            "GET",
            &format!("/session/{}/window/rect", self.id),
            None,
        );
        ["x", "y", "width", "height"].map(|k| rect[k].as_i64().unwrap())
    }

    /// Moves and resizes the window.
    pub fn set_window_rect(&self, [x, y, width, height]: [i64; 4]) {
        call(
            self.port,
            "POST",
            &format!("/session/{}/window/rect", self.id),
            Some(json!({"x": x, "y": y, "width": width, "height": height})),
        );
    }
}

/// Two apps side by side on one virtual display, each with its own data folder and
/// tauri-driver.
pub struct TwoApps {
    pub driver_a: Driver,
    pub driver_b: Driver,
    pub display: String,
    _xvfb: Running,
    pub a_dir: tempfile::TempDir,
    pub b_dir: tempfile::TempDir,
}

impl TwoApps {
    /// Starts the display and both drivers; `None` where the end-to-end tools are
    /// missing and `QUIRE_E2E=skip` allows it.
    pub fn start() -> Option<Self> {
        if !tools_present() {
            return None;
        }
        let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (display, xvfb) = display();
        Some(Self {
            driver_a: Driver::start(&display, a_dir.path()),
            driver_b: Driver::start(&display, b_dir.path()),
            display,
            _xvfb: xvfb,
            a_dir,
            b_dir,
        })
    }
}

/// The app binary under test.
pub fn app() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_quire-app"))
}

impl Session {
    /// Makes an invite link in the share panel of the open document.
    pub fn share_link(&self, read_only: bool) -> String {
        self.click_button(".doc-header", "Share");
        self.click_button(
            ".share-panel",
            if read_only {
                "Read-only link"
            } else {
                "Edit link"
            },
        );
        let link = self.wait_for(
            "the invite link",
            "const i = document.querySelector('.share-panel input[aria-label=\"Invite link\"]'); return i && i.value;",
        );
        link.as_str().unwrap().to_owned()
    }
}
