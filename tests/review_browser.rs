//! The review web UI in headless Chromium, driven over the DevTools protocol: sign
//! in, confirm a finding with the keyboard and see it leave the queue; a hostile
//! listing title renders as text; a form post without the CSRF token is refused.
//!
//! Chromium is installed by `.ci/run`; elsewhere the test is skipped with a message
//! when no Chromium is found (and fails when `CI` is set, so CI cannot skip it).

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use crate::review_api::Service;
use crate::util::headless_chromium;

/// A headless Chromium with one page, driven over the DevTools protocol.
pub struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    page: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn connect(url: &str) -> WebSocket<MaybeTlsStream<TcpStream>> {
    let (ws, _) = tungstenite::connect(url).expect("connect to DevTools");
    if let MaybeTlsStream::Plain(s) = ws.get_ref() {
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    }
    ws
}

fn call(
    ws: &mut WebSocket<MaybeTlsStream<TcpStream>>,
    id: u64,
    method: &str,
    params: Value,
) -> Value {
    let v = call_raw(ws, id, method, params);
    assert!(v.get("error").is_none(), "{method}: {v}");
    v["result"].clone()
}

/// Sends one DevTools command and returns the whole reply, error included.
fn call_raw(
    ws: &mut WebSocket<MaybeTlsStream<TcpStream>>,
    id: u64,
    method: &str,
    params: Value,
) -> Value {
    let msg = json!({"id": id, "method": method, "params": params});
    ws.send(Message::text(msg.to_string())).unwrap();
    loop {
        let reply = ws.read().expect("a DevTools reply");
        let Message::Text(text) = reply else { continue };
        let v: Value = serde_json::from_str(&text).unwrap();
        if v["id"] == id {
            return v;
        }
    }
}

impl Browser {
    pub fn launch(bin: &Path) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut child = headless_chromium(bin, profile.path(), 1280, 1000)
            .arg("--remote-debugging-port=0")
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let mut browser_url = None;
        for line in stderr.lines() {
            let line = line.unwrap();
            if let Some(url) = line.strip_prefix("DevTools listening on ") {
                browser_url = Some(url.trim().to_owned());
                break;
            }
        }
        let browser_url = browser_url.expect("chromium printed its DevTools address");
        let mut browser = connect(&browser_url);
        let target = call(
            &mut browser,
            1,
            "Target.createTarget",
            json!({"url": "about:blank"}),
        );
        let target_id = target["targetId"].as_str().unwrap();
        let host = browser_url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap();
        let page = connect(&format!("ws://{host}/devtools/page/{target_id}"));
        Browser {
            child,
            _profile: profile,
            page,
            next_id: 1,
        }
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        call(&mut self.page, self.next_id, method, params)
    }

    /// Evaluates `expr` in the page (awaiting a promise) and returns its value.
    pub fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
        );
        assert!(r.get("exceptionDetails").is_none(), "{expr}: {r}");
        r["result"]["value"].clone()
    }

    /// Waits until `expr` is true in a fully loaded page.
    pub fn wait_for(&mut self, expr: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        let check = format!("document.readyState === 'complete' && !!({expr})");
        while Instant::now() < deadline {
            // While the page navigates, an evaluation may be cut off ("Inspected
            // target navigated or closed"): that is "not yet", not a failure.
            self.next_id += 1;
            let v = call_raw(
                &mut self.page,
                self.next_id,
                "Runtime.evaluate",
                json!({"expression": check, "returnByValue": true, "awaitPromise": true}),
            );
            if v["result"]["result"]["value"] == json!(true) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let dom = self.eval("document.documentElement.outerHTML");
        panic!("timed out waiting for {expr}; page: {dom}");
    }

    pub fn goto(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
    }

    fn key(&mut self, key: &str) {
        self.call(
            "Input.dispatchKeyEvent",
            json!({"type": "keyDown", "key": key, "text": key}),
        );
        self.call(
            "Input.dispatchKeyEvent",
            json!({"type": "keyUp", "key": key}),
        );
    }
}

#[test]
fn a_reviewer_signs_in_and_confirms_with_the_keyboard() {
    let Some(bin) = crate::util::chromium_or_skip() else {
        return;
    };
    let svc = Service::start();
    let hostile = "<img src=x onerror=alert(1)> Zentrix shoes";
    let answer = svc.ingest(&json!([
        {"id": "L1", "title": "Zentrix running shoes replica", "seller": {"id": "s1"}},
        {"id": "L2", "title": hostile, "seller": {"id": "s2"}},
        {"id": "L3", "title": "Korvello handbag", "seller": {"id": "s3"}},
    ]));
    let top = svc.all_findings("")[0].clone();
    let top_id = top["id"].as_str().unwrap().to_owned();
    assert_eq!(top["listing_id"], "L1", "{answer}");

    let mut b = Browser::launch(&bin);
    b.goto(&format!("{}/queue", svc.base));
    b.wait_for("location.pathname === '/signin' && document.querySelector('#token')");
    b.eval(&format!(
        "document.querySelector('#token').value = {}; document.querySelector('form[action=\"/signin\"]').submit(); true",
        json!(svc.reviewer)
    ));
    b.wait_for(
        "location.pathname === '/queue' && document.querySelectorAll('tr.finding').length === 3",
    );

    // The hostile title is text: no element came out of it.
    assert_eq!(
        b.eval("document.querySelectorAll('img[src=\"x\"]').length"),
        json!(0)
    );
    let titles = b.eval(
        "Array.from(document.querySelectorAll('td.title')).map(t => t.textContent).join('\\n')",
    );
    assert!(titles.as_str().unwrap().contains(hostile), "{titles}");

    // j/k move the selection; c confirms the selected finding.
    b.wait_for("document.querySelector('tr.finding.selected')");
    let selected = "document.querySelector('tr.finding.selected').dataset.id";
    assert_eq!(b.eval(selected), json!(top_id));
    b.key("j");
    assert_ne!(b.eval(selected), json!(top_id));
    b.key("k");
    assert_eq!(b.eval(selected), json!(top_id));
    b.key("c");
    b.wait_for(&format!(
        "document.querySelectorAll('tr.finding').length === 2 && !document.querySelector('tr[data-id=\"{top_id}\"]')"
    ));
    let f = svc.finding(&top_id);
    assert_eq!(f["state"], "confirmed");
    let last = f["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["actor"], "rita");

    // A form post without the CSRF token is refused and changes nothing.
    let other = b.eval("document.querySelector('tr.finding').dataset.id");
    let other = other.as_str().unwrap().to_owned();
    // (The CSP's connect-src 'none' already stops scripted requests, so post the
    // page's own Dismiss form with its CSRF field removed.)
    b.eval(&format!(
        "const f = document.querySelector('tr[data-id=\"{other}\"] form[data-action=\"dismiss\"]'); \
         f.querySelector('input[name=csrf]').remove(); f.submit(); true"
    ));
    b.wait_for(
        "document.querySelector('h1') && document.querySelector('h1').textContent === 'Error 403'",
    );
    let message = b.eval("document.querySelector('p.error').textContent");
    assert!(message.as_str().unwrap().contains("CSRF"), "{message}");
    assert_eq!(svc.finding(&other)["state"], "new");
}

#[test]
fn a_reviewer_dismisses_with_a_reason_sees_the_suppression_and_undoes_it() {
    let Some(bin) = crate::util::chromium_or_skip() else {
        return;
    };
    let svc = Service::start();
    svc.ingest(&json!([
        {"id": "L1", "title": "Zentrax running shoes", "seller": {"id": "s1"}},
    ]));
    let first = svc.all_findings("")[0].clone();
    let first_id = first["id"].as_str().unwrap().to_owned();

    let mut b = Browser::launch(&bin);
    b.goto(&format!("{}/findings/{first_id}", svc.base));
    b.wait_for("location.pathname === '/signin' && document.querySelector('#token')");
    b.eval(&format!(
        "document.querySelector('#token').value = {}; document.querySelector('form[action=\"/signin\"]').submit(); true",
        json!(svc.reviewer)
    ));
    b.wait_for("location.pathname === '/queue'");
    b.goto(&format!("{}/findings/{first_id}", svc.base));
    b.wait_for("document.querySelector('form[data-action=\"dismiss\"] select[name=reason]')");
    b.eval(
        "const f = document.querySelector('form[data-action=\"dismiss\"]'); \
         f.querySelector('select[name=reason]').value = 'other_brand'; \
         f.querySelector('button').click(); true",
    );
    b.wait_for("document.querySelector('#state') && document.querySelector('#state').textContent === 'dismissed' && document.querySelector('table.bank')");
    let bank = b.eval("document.querySelector('table.bank').textContent");
    assert!(bank.as_str().unwrap().contains("Zentrax"), "{bank}");

    // The next listing with the same spelling is suppressed, and its page says by
    // which entry and decision.
    let answer = svc.ingest(&json!([
        {"id": "L2", "title": "Zentrax trail shoes", "seller": {"id": "s2"}},
    ]));
    let second = answer["findings"][0].clone();
    assert_eq!(second["state"], "dismissed", "{answer}");
    let second_id = second["id"].as_str().unwrap().to_owned();
    b.goto(&format!("{}/findings/{second_id}", svc.base));
    b.wait_for("document.querySelector('#suppressed')");
    let text = b.eval("document.querySelector('#suppressed').textContent");
    assert!(
        text.as_str()
            .unwrap()
            .starts_with("suppressed by bank entry 1 (from decision "),
        "{text}"
    );

    // Undo from the first finding's page: the entry stops acting and the
    // suppressed finding is reopened.
    b.goto(&format!("{}/findings/{first_id}", svc.base));
    b.wait_for("document.querySelector('form.undo')");
    b.eval("document.querySelector('form.undo button').click(); true");
    b.wait_for("document.querySelector('table.bank') && document.querySelector('table.bank').textContent.includes('undone by rita')");
    assert_eq!(svc.finding(&second_id)["state"], "reopened");
    let history = svc.finding(&first_id)["history"].clone();
    let last = history.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "feedback", "{history}");
}

#[test]
fn anyone_files_a_notice_from_the_form_and_a_reviewer_claims_its_finding() {
    let Some(bin) = crate::util::chromium_or_skip() else {
        return;
    };
    let svc = Service::start();
    svc.ingest(&json!([
        {"id": "L1", "title": "Running shoes, white", "url": "https://shop.example/L1",
         "seller": {"id": "s1"}},
    ]));
    assert!(svc.all_findings("").is_empty());

    // The form is open without signing in.
    let mut b = Browser::launch(&bin);
    b.goto(&format!("{}/notice", svc.base));
    b.wait_for("document.querySelector('form#notice select[name=mark_id] option')");
    // Without the good-faith statement the form comes back, filled in, with why.
    let fill = |good_faith: bool| {
        format!(
            "const f = document.querySelector('form#notice'); \
             f.name.value = 'Zentrix Sports Ltd.'; f.email.value = 'legal@zentrix.example'; \
             f.mark_id.value = 'zentrix'; f.urls.value = 'https://shop.example/L1'; \
             f.explanation.value = 'Counterfeit Zentrix shoes sold under our registered mark.'; \
             f.good_faith.checked = {good_faith}; f.submit(); true"
        )
    };
    b.eval(&fill(false));
    b.wait_for("document.querySelector('p.error')");
    let error = b.eval("document.querySelector('p.error').textContent");
    assert!(
        error.as_str().unwrap().starts_with("good_faith:"),
        "{error}"
    );
    assert_eq!(
        b.eval("document.querySelector('form#notice').name.value"),
        json!("Zentrix Sports Ltd.")
    );
    b.eval(&fill(true));
    b.wait_for("document.querySelector('#notice-id')");
    let status = b.eval("document.querySelector('a#status').getAttribute('href')");
    let status = status.as_str().unwrap().to_owned();
    assert!(status.contains("?receipt="), "{status}");
    let found = svc.all_findings("");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["source"], "notice");
    let fid = found[0]["id"].as_str().unwrap().to_owned();
    // The acknowledgement's address shows the notifier where the notice stands.
    let answer: Value = reqwest::blocking::get(format!("{}{status}", svc.base))
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(answer["items"][0]["state"], "new");

    // A reviewer claims the finding from its page; the queue shows it taken.
    b.goto(&format!("{}/signin", svc.base));
    b.wait_for("document.querySelector('#token')");
    b.eval(&format!(
        "document.querySelector('#token').value = {}; document.querySelector('form[action=\"/signin\"]').submit(); true",
        json!(svc.reviewer)
    ));
    b.wait_for("location.pathname === '/queue' && document.querySelector('#figures')");
    let figures = b.eval("document.querySelector('#figures').textContent");
    assert!(figures.as_str().unwrap().contains("Open: 1"), "{figures}");
    b.goto(&format!("{}/findings/{fid}", svc.base));
    b.wait_for("document.querySelector('form.claim button') && document.querySelector('#notices')");
    b.eval("document.querySelector('form.claim button').click(); true");
    b.wait_for("document.querySelector('#claim') && document.querySelector('#claim').textContent.startsWith('Claimed by you')");
    assert_eq!(svc.finding(&fid)["claim"]["by"], "rita");
    b.goto(&format!("{}/queue", svc.base));
    b.wait_for("document.querySelector('span.claim')");
    let badge = b.eval("document.querySelector('span.claim').textContent");
    assert_eq!(badge, json!("claimed by rita"));
}
