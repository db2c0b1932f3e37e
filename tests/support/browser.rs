//! A real headless Chromium driven through chromedriver (WebDriver), one per
//! test: its own chromedriver on a free port and its own empty profile, both
//! gone when the test ends, whatever happens. Every step has a timeout, so a
//! missing or stuck browser fails the test with a message instead of hanging.

use super::free_port;
use fantoccini::elements::Element;
use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Debian's chromedriver (package `chromium-driver`), unless
/// `PATRON_HUB_CHROMEDRIVER` names another.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Debian's Chromium (package `chromium`), unless `PATRON_HUB_CHROMIUM` names another.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// The longest any one browser step or wait may take.
pub const BROWSER_WAIT: Duration = Duration::from_secs(30);

/// The flags headless Chromium needs on these machines (closed network, root),
/// and a window tall enough for a patron page in one screenshot.
const CHROMIUM_FLAGS: [&str; 10] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1400",
    "--lang=en-US",
];

fn program(variable: &str, default: &str) -> PathBuf {
    std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default))
}

/// Bounds one browser step: its error or its timeout fails the test, naming the step.
pub async fn within<T, E: std::fmt::Debug>(
    what: &str,
    step: impl std::future::Future<Output = Result<T, E>>,
) -> T {
    match tokio::time::timeout(BROWSER_WAIT, step).await {
        Ok(Ok(value)) => value,
        Ok(Err(error)) => panic!("browser: {what} failed: {error:?}"),
        Err(_) => panic!("browser: {what} took more than {BROWSER_WAIT:?}"),
    }
}

/// chromedriver in a process group of its own (Chromium, which it starts, is
/// in it too): the whole group is killed on drop, even after a failed test.
struct Driver {
    child: Child,
    log: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- last lines of the chromedriver log ---");
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

/// One headless Chromium session.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    driver: Driver,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and opens a Chromium session with a
    /// fresh profile. Panics, saying what to install, when either is missing.
    pub async fn start() -> Self {
        let chromedriver = program("PATRON_HUB_CHROMEDRIVER", CHROMEDRIVER);
        let chromium = program("PATRON_HUB_CHROMIUM", CHROMIUM);
        for (path, package) in [(&chromedriver, "chromium-driver"), (&chromium, "chromium")] {
            assert!(
                path.exists(),
                "{} not found: install Debian's `{package}` (scripts/test does) \
                 or set PATRON_HUB_CHROMEDRIVER and PATRON_HUB_CHROMIUM",
                path.display()
            );
        }
        let profile = tempfile::tempdir().unwrap();
        let log = profile.path().join("chromedriver.log");
        let out = std::fs::File::create(&log).unwrap();
        let port = free_port();
        let child = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        let mut driver = Driver { child, log };
        let webdriver = format!("http://127.0.0.1:{port}");
        wait_for_driver(&mut driver, &webdriver).await;

        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!(
            "--user-data-dir={}",
            profile.path().join("profile").display()
        ));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({"binary": chromium, "args": args}),
        );
        // Plain HTTP: chromedriver only listens on loopback.
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        let client = within("opening a Chromium session", builder.connect(&webdriver)).await;
        let timeouts = TimeoutConfiguration::new(
            Some(Duration::from_secs(10)),
            Some(BROWSER_WAIT),
            Some(Duration::ZERO),
        );
        within(
            "setting the session's timeouts",
            client.update_timeouts(timeouts),
        )
        .await;
        Self {
            client,
            driver,
            _profile: profile,
        }
    }

    /// Ends the session (Chromium quits), then chromedriver.
    pub async fn quit(self) {
        let Self {
            client,
            driver,
            _profile,
        } = self;
        let _ = tokio::time::timeout(BROWSER_WAIT, client.close()).await;
        drop(driver);
    }

    /// Opens `url` and waits until it has loaded.
    pub async fn open(&self, url: &str) {
        within(&format!("opening {url}"), self.client.goto(url)).await;
    }

    /// The path of the page shown.
    pub async fn path(&self) -> String {
        within("reading the URL", self.client.current_url())
            .await
            .path()
            .to_owned()
    }

    /// The first element matching `css`, waited for.
    pub async fn find(&self, css: &str) -> Element {
        let wait = self
            .client
            .wait()
            .at_most(BROWSER_WAIT)
            .for_element(Locator::Css(css));
        match wait.await {
            Ok(element) => element,
            Err(error) => {
                let path = self.path().await;
                let heading = self.heading().await;
                panic!("browser: no `{css}` on {path} (h1: {heading:?}): {error}")
            }
        }
    }

    /// Every element matching `css` now (no wait).
    pub async fn all(&self, css: &str) -> Vec<Element> {
        within(
            &format!("finding `{css}`"),
            self.client.find_all(Locator::Css(css)),
        )
        .await
    }

    /// The text of the first element matching `css`, waited for.
    pub async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        within(&format!("reading `{css}`"), element.text()).await
    }

    /// The page's `<h1>`, or an empty text without one.
    pub async fn heading(&self) -> String {
        match tokio::time::timeout(BROWSER_WAIT, self.client.find(Locator::Css("h1"))).await {
            Ok(Ok(h1)) => h1.text().await.unwrap_or_default(),
            _ => String::new(),
        }
    }

    /// Types `text` into the field matching `css`, after clearing it.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        within(&format!("clearing `{css}`"), field.clear()).await;
        within(&format!("typing into `{css}`"), field.send_keys(text)).await;
    }

    /// Clicks the element matching `css` (a link or a submit button) and waits
    /// until the page it leads to has replaced this one.
    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        let old_page = self.find("html").await;
        within(&format!("clicking `{css}`"), element.click()).await;
        let deadline = Instant::now() + BROWSER_WAIT;
        // The old page's root goes stale once the new page is there.
        while old_page.tag_name().await.is_ok() {
            assert!(
                Instant::now() < deadline,
                "browser: clicking `{css}` led nowhere within {BROWSER_WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs a script in the page through WebDriver (the console's own pages
    /// run none: their CSP forbids it, but WebDriver's scripts are not the page's).
    pub async fn execute(&self, script: &str) -> Value {
        within(
            "running a WebDriver script",
            self.client.execute(script, Vec::new()),
        )
        .await
    }

    /// The browser's cookies for the current site, as a `Cookie` header value.
    pub async fn cookie_header(&self) -> String {
        within("reading cookies", self.client.get_all_cookies())
            .await
            .iter()
            .map(|cookie| format!("{}={}", cookie.name(), cookie.value()))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Saves a PNG screenshot of the window as `name` in [`screenshot_dir`],
    /// prints where, and returns the path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = within("taking a screenshot", self.client.screenshot()).await;
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n"),
            "the screenshot is a PNG"
        );
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, png).unwrap();
        println!("screenshot: {}", path.display());
        path
    }
}

/// Where screenshots go: `PATRON_HUB_SCREENSHOTS`, else `screenshots/` in
/// cargo's target folder.
pub fn screenshot_dir() -> PathBuf {
    match std::env::var_os("PATRON_HUB_SCREENSHOTS") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
            tmp.parent().unwrap_or(tmp).join("screenshots")
        }
    }
}

/// Waits until chromedriver answers that it is ready; fails with its log if it exits.
async fn wait_for_driver(driver: &mut Driver, webdriver: &str) {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + BROWSER_WAIT;
    loop {
        if let Ok(Some(status)) = driver.child.try_wait() {
            let log = std::fs::read_to_string(&driver.log).unwrap_or_default();
            panic!("chromedriver exited ({status}) before answering:\n{log}");
        }
        let ready = async {
            let status: Value = http
                .get(format!("{webdriver}/status"))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            status["value"]["ready"].as_bool()
        };
        if ready.await == Some(true) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver did not answer on {webdriver} within {BROWSER_WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
