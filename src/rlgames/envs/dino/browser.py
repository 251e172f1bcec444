"""Headless Chromium under Selenium, with a fast DevTools connection to its one page.

Selenium (with an explicit chromedriver path; Selenium Manager is never asked to download)
starts the browser and owns its lifetime. The per-step traffic goes over the page's own
DevTools websocket instead (`CDPConnection`: one round trip, not an HTTP call through
chromedriver; figures in docs/benchmarks.md).

Every process started here lives in one process group, ended on `close()`, on garbage
collection and at interpreter exit.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gymnasium.error import DependencyNotInstalled

from rlgames.envs.dino.cdp import BrowserDied, CDPConnection

CHROME_ENV = "RLGAMES_CHROME"
DRIVER_ENV = "RLGAMES_CHROMEDRIVER"
INSTALL_HINT = (
    "Install them with `apt-get install chromium chromium-driver` (Debian/Ubuntu), "
    "or pass `chrome_path=` and `driver_path=` (or set RLGAMES_CHROME / RLGAMES_CHROMEDRIVER)."
)
CHROME_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
CHROME_PLACES = (
    "/usr/bin/chromium",
    "/usr/lib/chromium/chromium",
    "/snap/bin/chromium",
    "/opt/google/chrome/chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
)
DRIVER_NAMES = ("chromedriver", "chromium.chromedriver")
DRIVER_PLACES = (
    "/usr/bin/chromedriver",
    "/usr/lib/chromium/chromedriver",
    "/usr/lib/chromium-browser/chromedriver",
    "/snap/bin/chromium.chromedriver",
)
# Measured to work headless as root; without the networking flags Chromium keeps dialling out.
CHROME_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-crash-reporter",  # crashpad would run in a session of its own, outside our group
    "--disable-breakpad",
    "--disable-dev-shm-usage",
    "--mute-audio",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-extensions",
    "--force-device-scale-factor=1",
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
)


class BrowserNotFoundError(DependencyNotInstalled):
    """Chromium (or Chrome) or chromedriver is not where we looked."""


def _find(what: str, given: str | None, env_var: str, names: tuple, places: tuple) -> str:
    if given is None:
        given = os.environ.get(env_var) or None
    if given is not None:
        path = shutil.which(given) or given
        if Path(path).is_file() and os.access(path, os.X_OK):
            return str(path)
        raise BrowserNotFoundError(f"{what} not found at {given}. {INSTALL_HINT}")
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    for place in places:
        if Path(place).is_file() and os.access(place, os.X_OK):
            return place
    raise BrowserNotFoundError(
        f"{what} not found on PATH nor in {', '.join(places[:3])}. {INSTALL_HINT}"
    )


def find_chrome(chrome_path: str | None = None) -> str:
    """The Chromium/Chrome binary: `chrome_path`, $RLGAMES_CHROME, PATH, then usual places."""
    return _find("Chromium", chrome_path, CHROME_ENV, CHROME_NAMES, CHROME_PLACES)


def find_driver(driver_path: str | None = None) -> str:
    """The chromedriver binary: `driver_path`, $RLGAMES_CHROMEDRIVER, PATH, then usual places."""
    return _find("chromedriver", driver_path, DRIVER_ENV, DRIVER_NAMES, DRIVER_PLACES)


@dataclass
class _Resources:
    """What one running browser holds; kept apart from `Browser` so a finalizer can end it."""

    driver: Any = None
    cdp: CDPConnection | None = None
    group: int | None = None  # process group of chromedriver and everything it started
    driver_proc: Any = None
    profile_dir: str | None = None


_RUNNING: dict[int, _Resources] = {}
"""Browsers started in this process and not yet released, by id(): SIGTERM ends them all."""


def _release(res: _Resources) -> None:
    """End the browser and driver, whatever state they are in. Safe to call twice."""
    _RUNNING.pop(id(res), None)
    if res.cdp is not None:
        res.cdp.close()
        res.cdp = None
    if res.driver is not None:
        driver, res.driver = res.driver, None
        with contextlib.suppress(Exception):
            driver.quit()
    _kill_processes(res)
    if res.driver_proc is not None:
        with contextlib.suppress(Exception):
            res.driver_proc.wait(timeout=5)
        res.driver_proc = None


def _kill_processes(res: _Resources) -> None:
    """SIGKILL chromedriver, Chromium and its helpers, and delete the profile: takes no lock,
    so a signal handler may call it whatever the interrupted code holds."""
    if res.group is not None and hasattr(os, "killpg"):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(res.group, signal.SIGKILL)
        res.group = None
    if res.profile_dir is not None:
        _kill_crash_handlers(res.profile_dir)
        shutil.rmtree(res.profile_dir, ignore_errors=True)
        res.profile_dir = None


def _kill_crash_handlers(profile_dir: str) -> None:
    """End the browser's crashpad handlers, which leave its process group (each starts a
    session of its own). They are known by their crash database: Chromium is started with
    XDG_CONFIG_HOME in its profile directory, so the database lies there."""
    marker = b"--database=" + os.fsencode(profile_dir) + b"/"
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:  # no /proc: not Linux
        return
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker in f.read():
                    os.kill(int(pid), signal.SIGKILL)
        except (OSError, ValueError):  # gone meanwhile, or not ours to end
            continue


def _children(pid: int) -> list[int]:
    """Direct children of a process (Linux /proc; empty elsewhere)."""
    kids: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    return kids


class Browser:
    """One Chromium window showing one page, driven over the DevTools protocol.

    `start(url, init_script)` launches Chromium, installs `init_script` to run before the page's
    own scripts, loads `url`, and connects to the page's websocket. `evaluate` runs JavaScript
    there and returns its JSON value; it raises `BrowserDied` if the browser is gone.
    """

    def __init__(
        self,
        chrome_path: str | None = None,
        driver_path: str | None = None,
        headless: bool = True,
        timeout: float = 30.0,
        window_size: tuple[int, int] = (1000, 600),
    ) -> None:
        self.chrome_path = find_chrome(chrome_path)
        self.driver_path = find_driver(driver_path)
        self.headless = headless
        self.timeout = timeout
        self.window_size = window_size
        self._res = _Resources()
        self._finalizer = weakref.finalize(self, _release, self._res)
        _end_browsers_on_sigterm()

    @property
    def running(self) -> bool:
        return self._res.cdp is not None

    @property
    def pid(self) -> int | None:
        """PID of the main Chromium process (Linux), e.g. to kill it in a test."""
        proc = self._res.driver_proc
        if proc is None:
            return None
        chrome = os.path.realpath(self.chrome_path)
        for kid in _children(proc.pid):
            with contextlib.suppress(OSError):
                exe = os.path.realpath(f"/proc/{kid}/exe")
                if exe == chrome or "chrom" in os.path.basename(exe):
                    return kid
        return None

    @property
    def process_group(self) -> int | None:
        """The process group holding chromedriver and every process it started."""
        return self._res.group

    def start(self, url: str, init_script: str = "") -> None:
        """Launch the browser (ending any previous one) and open `url` in it."""
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service

        self.close()
        res = self._res
        _RUNNING[id(res)] = res
        res.profile_dir = tempfile.mkdtemp(prefix="rlgames-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = self.chrome_path
        for flag in CHROME_FLAGS:
            options.add_argument(flag)
        if self.headless:
            options.add_argument("--headless=new")
        width, height = self.window_size
        options.add_argument(f"--window-size={width},{height}")
        options.add_argument(f"--user-data-dir={res.profile_dir}")
        # Own process group: one killpg ends chromedriver, Chromium and its helpers together.
        # Chromium's crash database goes to $XDG_CONFIG_HOME/chromium: inside the profile, not
        # the user's ~/.config, and it names the crashpad handlers for _kill_crash_handlers.
        service = Service(
            self.driver_path,
            popen_kw={"start_new_session": True},
            env={**os.environ, "XDG_CONFIG_HOME": res.profile_dir},
        )
        try:
            res.driver = webdriver.Chrome(options=options, service=service)
        except BaseException as err:  # Ctrl-C included: whatever started must end
            res.driver_proc = getattr(service, "process", None)
            res.group = res.driver_proc.pid if res.driver_proc is not None else None
            _release(res)
            if not isinstance(err, WebDriverException):
                raise
            raise RuntimeError(
                f"Chromium at {self.chrome_path} did not start under {self.driver_path}: "
                f"{err.msg}. Their major versions must match. {INSTALL_HINT}"
            ) from err
        res.driver_proc = service.process
        res.group = service.process.pid
        res.driver.set_page_load_timeout(self.timeout)
        if init_script:
            res.driver.execute_cdp_cmd(
                "Page.addScriptToEvaluateOnNewDocument", {"source": init_script}
            )
        try:
            res.driver.get(url)
        except WebDriverException as err:
            # chrome://dino is the offline error page: it loads, yet reports the net error.
            if "ERR_INTERNET_DISCONNECTED" not in str(err):
                raise
        address = res.driver.capabilities["goog:chromeOptions"]["debuggerAddress"]
        res.cdp = CDPConnection.to_page(address, timeout=self.timeout)

    def evaluate(self, expression: str) -> Any:
        """Run JavaScript in the page; return its value (JSON). Raises `BrowserDied`."""
        if self._res.cdp is None:
            raise BrowserDied("the browser is not running")
        return self._res.cdp.evaluate(expression)

    def close(self) -> None:
        """End Chromium and chromedriver now (also done on garbage collection and at exit)."""
        _release(self._res)


def _end_browsers_on_sigterm() -> None:
    """Make SIGTERM end this process's browsers before the process goes.

    chromedriver runs in its own session, so a process killed by SIGTERM (``kill``, a job
    scheduler, Gymnasium stopping the workers of an unclosed AsyncVectorEnv) would leave its
    browsers running: no ``close()``, finalizer or atexit hook runs on a default SIGTERM. The
    handler is installed only where SIGTERM still has its default action, from the main
    thread. In the main process it ends the browsers, then dies of SIGTERM as it would have
    (same exit status); in a worker process it raises SystemExit so the worker's own
    cleanup runs too. ``RLGAMES_NO_SIGNAL_HANDLERS=1`` switches it off (`rlgames.process`).
    """
    import multiprocessing

    from rlgames.process import may_handle

    if not may_handle(signal.SIGTERM):
        return
    in_worker = multiprocessing.parent_process() is not None

    def handler(signum: int, _frame: Any) -> None:
        if in_worker:
            raise SystemExit(128 + signum)
        # Only what takes no lock: the interrupted code may hold the websocket's or the HTTP
        # pool's, and quitting the driver politely would wait on it for ever.
        for res in list(_RUNNING.values()):
            _kill_processes(res)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    signal.signal(signal.SIGTERM, handler)
