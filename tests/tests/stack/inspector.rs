//! `inlet dev`'s inspector in a real browser (headless Chromium, `inlet_testkit::browser`) and
//! through its JSON API.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use inlet_testkit::browser::{Browser, leftovers};

/// The harness itself, on a page of its own: load, click, type, select, wait — and no Chromium
/// process is left once the browser is dropped.
#[test]
fn the_browser_harness_drives_a_page_and_leaves_no_process_behind() {
    let mut browser = Browser::launch();
    let page = "<select id=s><option value=a>a</option><option value=b>b</option></select>\
                <input id=t><button id=b onclick=\"this.dataset.clicks=(+this.dataset.clicks||0)+1\">go</button>\
                <p id=out></p><script>\
                const show = () => out.textContent = s.value + ':' + t.value;\
                s.addEventListener('change', show); t.addEventListener('input', show);\
                setTimeout(() => document.body.dataset.later = 'yes', 300);</script>";
    browser.goto(&format!("data:text/html,{}", percent(page)));
    browser.wait_for_js("the timer ran", "document.body.dataset.later");
    browser.click("#b");
    browser.click("#b");
    assert_eq!(
        browser.value("document.querySelector('#b').dataset.clicks"),
        "2"
    );
    browser.select("#s", "b");
    assert_eq!(browser.value("out.textContent"), "b:");
    browser.type_text("#t", "hello");
    assert_eq!(browser.value("out.textContent"), "b:hello");
    browser.type_text("#t", "");
    assert_eq!(browser.value("out.textContent"), "b:");
    assert!(browser.eval("no_such_thing()").is_err());
    assert!(
        browser.page_errors().is_empty(),
        "{:?}",
        browser.page_errors()
    );

    let (group, dir) = (browser.process_group(), browser.scratch_dir());
    assert!(!leftovers(group, &dir).is_empty(), "Chromium runs");
    drop(browser);
    assert_eq!(
        leftovers(group, &dir),
        Vec::<u32>::new(),
        "a Chromium process outlived its Browser"
    );
    assert!(!dir.exists(), "the profile is removed");
}

/// `text` as it can stand in a data: URL.
fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
