//! A real browser for the tests of pages `inlet dev` serves: headless Chromium (Debian's
//! `chromium`, which `make browser` installs), driven over the Chrome DevTools Protocol.
//!
//! The protocol is spoken here directly, over one WebSocket (`tungstenite`, whose dependencies
//! the workspace already has): the tests need a handful of methods (navigate, evaluate, mouse and
//! text input), where the CDP crates generate bindings for the whole protocol and compile for
//! minutes (headless_chrome also builds an HTTPS client as a build dependency).
//!
//! Each [`Browser`] is its own Chromium with a fresh profile directory, in a process group of its
//! own: dropping it — also when a test panics — kills the whole group and waits until none of
//! its processes is left, then removes the profile.

use crate::stack::Scratch;
use serde_json::{Value, json};
use std::net::TcpStream;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tungstenite::{Message, WebSocket};

/// Where Debian's `chromium` package puts the browser.
pub const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// The browser the tests run: `$CHROMIUM`, else [`DEFAULT_CHROMIUM`].
pub fn chromium_path() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CHROMIUM))
}

/// How long one protocol call may take before the browser counts as hung.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// How long [`Browser::wait_until`] polls by default: generous, since the machine running the
/// tests may be busy with other test binaries.
pub const WAIT: Duration = Duration::from_secs(90);

/// A headless Chromium with one page open, killed (with every process it started) when dropped.
#[derive(Debug)]
pub struct Browser {
    child: Child,
    socket: WebSocket<TcpStream>,
    /// The page's session on the browser's connection (flat mode: every command carries it).
    session: String,
    next_id: u64,
    /// Uncaught exceptions and `console.error` lines of the page, for failure messages.
    page_errors: Vec<String>,
    /// The profile directory (`--user-data-dir`) and Chromium's stderr, removed last.
    scratch: Scratch,
}

impl Browser {
    /// Starts Chromium ([`chromium_path`]) headless with a fresh profile, and opens a blank page.
    pub fn launch() -> Self {
        let binary = chromium_path();
        assert!(
            binary.exists(),
            "{} is missing: `make browser` installs Debian's chromium (as root), or set CHROMIUM= \
             to another Chromium",
            binary.display()
        );
        let scratch = Scratch::with_prefix("inlet-browser");
        let profile = scratch.path().join("profile");
        let stderr_path = scratch.path().join("chromium.err");
        let child = Command::new(&binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                // Containers often have a small /dev/shm, which crashes renderers.
                "--disable-dev-shm-usage",
                // The pages under test are on loopback; nothing should go through a proxy.
                "--no-proxy-server",
                // Any free port: Chromium writes the one it took to DevToolsActivePort.
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr_path).unwrap())
            // A group of its own, so that Drop can kill the renderers and helpers too.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut browser = Launching {
            child: Some(child),
            scratch: Some(scratch),
        };
        let (port, path) = browser.devtools_endpoint(&profile, &stderr_path);
        let stream = TcpStream::connect(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("cannot connect to Chromium's DevTools port {port}: {e}"));
        stream.set_read_timeout(Some(CALL_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(CALL_TIMEOUT)).unwrap();
        let (socket, _) = tungstenite::client(format!("ws://127.0.0.1:{port}{path}"), stream)
            .unwrap_or_else(|e| panic!("no DevTools WebSocket at 127.0.0.1:{port}{path}: {e}"));
        let (child, scratch) = browser.take();
        let mut browser = Self {
            child,
            socket,
            session: String::new(),
            next_id: 1,
            page_errors: Vec::new(),
            scratch,
        };
        let target = browser.call("Target.createTarget", json!({ "url": "about:blank" }));
        let session = browser.call(
            "Target.attachToTarget",
            json!({ "targetId": target["targetId"], "flatten": true }),
        );
        browser.session = session["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session for the page: {session}"))
            .to_owned();
        browser.call("Page.enable", json!({}));
        browser.call("Runtime.enable", json!({}));
        browser
    }

    /// The process group Chromium and its helpers run in (Chromium's own pid).
    pub fn process_group(&self) -> u32 {
        self.child.id()
    }

    /// The directory of the profile and Chromium's log, which every process of this browser has
    /// on its command line.
    pub fn scratch_dir(&self) -> PathBuf {
        self.scratch.path().to_path_buf()
    }

    /// Sends one command (to the page) and waits for its answer, keeping the events that arrive
    /// meanwhile. Panics on a protocol error: the tests use only methods that exist.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if !self.session.is_empty() {
            message["sessionId"] = Value::String(self.session.clone());
        }
        self.socket
            .send(Message::text(message.to_string()))
            .unwrap_or_else(|e| panic!("cannot send {method} to Chromium: {e}"));
        loop {
            let frame = self.socket.read().unwrap_or_else(|e| {
                panic!(
                    "no answer from Chromium to {method}: {e}\n{}",
                    self.stderr_tail()
                )
            });
            let Message::Text(text) = frame else {
                continue;
            };
            let Ok(reply) = serde_json::from_str::<Value>(text.as_str()) else {
                continue;
            };
            if reply["id"].as_u64() == Some(id) {
                if let Some(error) = reply.get("error") {
                    panic!(
                        "Chromium refused {method} {params}: {error}",
                        params = message["params"]
                    );
                }
                return reply["result"].clone();
            }
            self.note_event(&reply);
        }
    }

    /// Keeps what the page reports going wrong, so that a failing test can show it.
    fn note_event(&mut self, event: &Value) {
        match event["method"].as_str() {
            Some("Runtime.exceptionThrown") => {
                let details = &event["params"]["exceptionDetails"];
                let text = details["exception"]["description"]
                    .as_str()
                    .or_else(|| details["text"].as_str())
                    .unwrap_or("an exception");
                self.page_errors.push(format!("uncaught: {text}"));
            }
            Some("Runtime.consoleAPICalled") if event["params"]["type"] == "error" => {
                let args: Vec<String> = event["params"]["args"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|arg| match &arg["value"] {
                        Value::String(text) => text.clone(),
                        Value::Null => arg["description"].as_str().unwrap_or("").to_owned(),
                        other => other.to_string(),
                    })
                    .collect();
                self.page_errors
                    .push(format!("console.error: {}", args.join(" ")));
            }
            _ => {}
        }
    }

    /// Uncaught exceptions and `console.error` calls of the page so far.
    pub fn page_errors(&self) -> &[String] {
        &self.page_errors
    }

    /// Opens `url` in the page and waits until it has loaded.
    pub fn goto(&mut self, url: &str) {
        let navigated = self.call("Page.navigate", json!({ "url": url }));
        if let Some(error) = navigated["errorText"].as_str() {
            panic!("cannot open {url}: {error}");
        }
        self.wait_until(&format!("{url} has loaded"), WAIT, |browser| {
            let state = browser.eval("document.readyState").ok()?;
            (state == "complete").then_some(())
        });
    }

    /// The value of a JavaScript expression in the page (awaited if it is a promise), or the
    /// exception it threw.
    pub fn eval(&mut self, expression: &str) -> Result<Value, String> {
        let answer = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        if let Some(details) = answer.get("exceptionDetails") {
            let text = details["exception"]["description"]
                .as_str()
                .or_else(|| details["text"].as_str())
                .unwrap_or("an exception");
            return Err(format!("{expression}: {text}"));
        }
        Ok(answer["result"]["value"].clone())
    }

    /// [`Browser::eval`] for an expression that must not throw.
    pub fn value(&mut self, expression: &str) -> Value {
        self.eval(expression)
            .unwrap_or_else(|e| panic!("{e}\n{}", self.diagnostics()))
    }

    /// Lays the page out as a window of `width` × `height` CSS pixels (at scale 1) would: the
    /// headless window's own size is whatever Chromium's default is, not a screen people use.
    pub fn set_viewport(&mut self, width: u32, height: u32) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false }),
        );
    }

    /// Runs the page in the time zone `zone` (an IANA name such as `Asia/Kolkata`), so that a
    /// test can tell a time shown in the browser's zone from one shown in UTC.
    pub fn set_time_zone(&mut self, zone: &str) {
        self.call(
            "Emulation.setTimezoneOverride",
            json!({ "timezoneId": zone }),
        );
    }

    /// Writes what the page shows (its viewport) to `path` as a PNG.
    pub fn screenshot(&mut self, path: &Path) {
        use base64::Engine as _;
        let shot = self.call("Page.captureScreenshot", json!({ "format": "png" }));
        let data = shot["data"]
            .as_str()
            .unwrap_or_else(|| panic!("no screenshot from Chromium: {shot}"));
        let png = base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap_or_else(|e| panic!("Chromium's screenshot is not base64: {e}"));
        std::fs::write(path, png)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    /// Polls `check` every 100 ms until it gives a value; panics with `what` and the page's
    /// state after `timeout`. The check sees the page as it is, without reloading it.
    pub fn wait_until<T>(
        &mut self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut(&mut Self) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(value) = check(self) {
                return value;
            }
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {timeout:?} waiting until {what}\n{}",
                    self.diagnostics()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until a JavaScript expression is truthy, and gives its value.
    pub fn wait_for_js(&mut self, what: &str, expression: &str) -> Value {
        self.wait_until(what, WAIT, |browser| {
            let value = browser.eval(expression).ok()?;
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
                Value::String(s) => !s.is_empty(),
                Value::Array(_) | Value::Object(_) => true,
            };
            truthy.then_some(value)
        })
    }

    /// Clicks the middle of the first element `selector` matches, with the mouse (pressed and
    /// released there), as a person would: the page sees real mouse events.
    pub fn click(&mut self, selector: &str) {
        let selector_json = Value::String(selector.to_owned());
        let point = self.value(&format!(
            "(() => {{ const el = document.querySelector({selector_json}); if (!el) return null; \
             el.scrollIntoView({{block: 'center', inline: 'center'}}); \
             const r = el.getBoundingClientRect(); \
             return [r.left + r.width / 2, r.top + r.height / 2]; }})()"
        ));
        let (Some(x), Some(y)) = (point[0].as_f64(), point[1].as_f64()) else {
            panic!("nothing to click: {selector}\n{}", self.diagnostics());
        };
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            let mut event = json!({ "type": kind, "x": x, "y": y });
            if kind != "mouseMoved" {
                event["button"] = json!("left");
                event["clickCount"] = json!(1);
            }
            self.call("Input.dispatchMouseEvent", event);
        }
    }

    /// Focuses the element `selector` matches, clears it and types `text` into it as keyboard
    /// input (the page sees `input` events).
    pub fn type_text(&mut self, selector: &str, text: &str) {
        let selector_json = Value::String(selector.to_owned());
        let found = self.value(&format!(
            "(() => {{ const el = document.querySelector({selector_json}); if (!el) return false; \
             el.focus(); el.select && el.select(); return true; }})()"
        ));
        assert_eq!(
            found,
            Value::Bool(true),
            "nothing to type into: {selector}\n{}",
            self.diagnostics()
        );
        if text.is_empty() {
            // Deleting the selection is what clears a field from the keyboard.
            for kind in ["rawKeyDown", "keyUp"] {
                self.call(
                    "Input.dispatchKeyEvent",
                    json!({ "type": kind, "key": "Backspace", "code": "Backspace",
                            "windowsVirtualKeyCode": 8 }),
                );
            }
        } else {
            self.call("Input.insertText", json!({ "text": text }));
        }
    }

    /// Picks the option with `value` in the `<select>` `selector` matches, and tells the page as
    /// a choice from the list would (`input` and `change`): a headless browser has no popup to
    /// click in.
    pub fn select(&mut self, selector: &str, value: &str) {
        let selector_json = Value::String(selector.to_owned());
        let value_json = Value::String(value.to_owned());
        let chosen = self.value(&format!(
            "(() => {{ const el = document.querySelector({selector_json}); if (!el) return 'no element'; \
             if (![...el.options].some(o => o.value === {value_json})) \
               return 'no option ' + {value_json} + ' among ' + [...el.options].map(o => o.value).join(', '); \
             el.value = {value_json}; \
             el.dispatchEvent(new Event('input', {{bubbles: true}})); \
             el.dispatchEvent(new Event('change', {{bubbles: true}})); return 'ok'; }})()"
        ));
        assert_eq!(
            chosen,
            Value::String("ok".into()),
            "cannot select {value:?} in {selector}\n{}",
            self.diagnostics()
        );
    }

    /// What to show when a wait or a step fails: the page's address, errors and text.
    pub fn diagnostics(&mut self) -> String {
        let page = self
            .eval("location.href + '\\n' + (document.body ? document.body.innerText : '')")
            .map(|v| v.as_str().unwrap_or_default().chars().take(4000).collect())
            .unwrap_or_else(|e| format!("(cannot read the page: {e})"));
        format!(
            "---- page ----\n{page}\n---- page errors ----\n{}",
            self.page_errors.join("\n")
        )
    }

    fn stderr_tail(&self) -> String {
        stderr_tail(self.scratch.path())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Closing first lets Chromium end the session; the kill below does not depend on it.
        let _ = self.socket.close(None);
        kill_group(&mut self.child, self.scratch.path());
    }
}

/// Chromium while it starts: killed if the start fails, handed to [`Browser`] once connected.
struct Launching {
    child: Option<Child>,
    scratch: Option<Scratch>,
}

impl Launching {
    /// The port and path of the browser's DevTools WebSocket, from the DevToolsActivePort file
    /// Chromium writes into the profile once it listens.
    fn devtools_endpoint(&mut self, profile: &Path, stderr: &Path) -> (u16, String) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(text) = std::fs::read_to_string(profile.join("DevToolsActivePort")) {
                let mut lines = text.lines();
                if let (Some(Ok(port)), Some(path)) = (lines.next().map(str::parse), lines.next())
                    && path.starts_with("/devtools/browser/")
                {
                    return (port, path.to_owned());
                }
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "Chromium exited ({status}) before listening:\n{}",
                    read_tail(stderr)
                );
            }
            assert!(
                Instant::now() < deadline,
                "Chromium did not open its DevTools port in time:\n{}",
                read_tail(stderr)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn take(&mut self) -> (Child, Scratch) {
        match (self.child.take(), self.scratch.take()) {
            (Some(child), Some(scratch)) => (child, scratch),
            _ => unreachable!("taken once"),
        }
    }
}

impl Drop for Launching {
    fn drop(&mut self) {
        if let (Some(child), Some(scratch)) = (self.child.as_mut(), self.scratch.as_ref()) {
            kill_group(child, scratch.path());
        }
    }
}

/// Kills Chromium's process group, reaps Chromium, and waits (up to 10 s) until no live process
/// of the group, or with this browser's scratch directory on its command line, is left.
fn kill_group(child: &mut Child, scratch: &Path) {
    let group = child.id();
    let _ = Command::new("kill")
        .args(["-s", "KILL", "--", &format!("-{group}")])
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // A helper that left the group is still found by the profile path it was given.
        let left = leftovers(group, scratch);
        if left.is_empty() || Instant::now() >= deadline {
            break;
        }
        for pid in &left {
            let _ = Command::new("kill")
                .args(["-s", "KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The live processes (zombies do not count: they are dead, only not yet reaped) in process
/// group `group` or whose command line mentions `path`. After a [`Browser`] is dropped, none is
/// left for its [`Browser::process_group`] and [`Browser::scratch_dir`].
pub fn leftovers(group: u32, path: &Path) -> Vec<u32> {
    let needle = path.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // After the command name, which may hold spaces and parentheses: state, ppid, pgrp.
            let Some(fields) = stat.rfind(')').map(|end| &stat[end + 1..]) else {
                return false;
            };
            let fields: Vec<&str> = fields.split_whitespace().collect();
            if fields.first() == Some(&"Z") {
                return false;
            }
            let in_group = fields.get(2).and_then(|g| g.parse::<u32>().ok()) == Some(group);
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            in_group || String::from_utf8_lossy(&cmdline).contains(&needle)
        })
        .collect()
}

fn stderr_tail(scratch: &Path) -> String {
    read_tail(&scratch.join("chromium.err"))
}

/// The last lines Chromium wrote to stderr.
fn read_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    format!(
        "---- chromium stderr ----\n{}",
        lines[lines.len().saturating_sub(30)..].join("\n")
    )
}
