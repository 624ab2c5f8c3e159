"""Each task's `zoo demo` page in a real browser: headless Chromium (Debian `chromium` + `chromium-driver`)
driven by Selenium submits the bundled example and checks that the output appears.

Screenshots go to ``$ZOO_DEMO_SCREENSHOTS`` when set (``ZOO_DEMO_SCREENSHOTS=docs/img`` refreshes the docs'),
else to the test's temporary folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path

import pytest

gr = pytest.importorskip("gradio", reason="the demo pages need gradio (pip install gradio)")
webdriver = pytest.importorskip("selenium.webdriver", reason="browser tests need selenium (pip install selenium)")

from selenium.common.exceptions import TimeoutException, WebDriverException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = os.environ.get("ZOO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = os.environ.get("ZOO_CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
if not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()):
    pytest.skip(f"no headless browser: needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)",
                allow_module_level=True)  # fmt: skip

WAIT = 90  # seconds for one inference to show up (a loaded 2-core CPU)


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1100"):
        opts.add_argument(arg)
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    except WebDriverException as exc:
        pytest.skip(f"headless Chromium did not start: {exc.msg}")
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@contextlib.contextmanager
def served(name: str):
    """``zoo demo NAME``'s app, served on a free localhost port for the duration of the block."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from zoo.demo import build_app

    app = build_app(name)
    _, url, _ = app.queue().launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        yield url
    finally:
        app.close()


def shot(driver, task: str, tmp_path: Path) -> Path:
    folder = Path(os.environ.get("ZOO_DEMO_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"demo-{task}.png"
    driver.execute_script("window.scrollTo(0, 0);")
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1280, min(max(900, int(height) + 40), 2400))
    time.sleep(0.5)
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 1100)
    assert path.stat().st_size > 10_000
    return path


def click_example(driver, label: str | None = None, index: int = 0) -> None:
    items = WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "button.gallery-item"))
    if label is not None:
        items = [b for b in items if b.text.strip() == label]
        assert items, f"no example labelled {label!r}"
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", items[index])
    items[index].click()


def run(driver) -> None:
    button = driver.find_element(By.ID, "run")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
    time.sleep(0.3)
    button.click()


def wait_for(driver, css: str, check=lambda els: bool(els), timeout: float = WAIT):
    """Elements matching ``css`` once ``check(elements)`` holds (fails with the page's error toast, if any)."""

    def ready(d):
        toast = d.find_elements(By.CSS_SELECTOR, ".toast-body")
        if toast and "error" in (toast[0].get_attribute("class") or "") + toast[0].text.lower():
            raise AssertionError(f"the page shows an error: {toast[0].text}")
        els = d.find_elements(By.CSS_SELECTOR, css)
        return els if check(els) else False

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.5).until(ready)
    except TimeoutException:
        shown = [text_of(e)[:300] for e in driver.find_elements(By.CSS_SELECTOR, css.split()[0])]
        raise AssertionError(f"{css!r} not ready after {timeout} s; {css.split()[0]!r} shows {shown}") from None


def text_of(el) -> str:
    """An element's visible text without line breaks (Gradio splits file names at the suffix)."""
    return el.text.replace("\n", "")


def wait_for_toast(driver, expected: str, timeout: float = WAIT) -> str:
    """The text of the error message the page shows, once it contains ``expected``."""
    seen: list[str] = []

    def found(d):
        texts = [text_of(t) for t in d.find_elements(By.CSS_SELECTOR, ".toast-body")]
        seen[:] = texts
        return next((t for t in texts if expected in t), False)

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.3).until(found)
    except Exception:
        raise AssertionError(f"no message containing {expected!r}; the page shows {seen}") from None


def has_image(els) -> bool:
    return any((e.get_attribute("src") or "").startswith(("data:image", "http")) for e in els)


def test_forecast_page(browser, tmp_path):
    with served("informer-etth1") as url:
        browser.get(url)
        click_example(browser, "ETTh1 (336 hourly rows)")
        wait_for(browser, "#history-csv", lambda els: els and "etth1-example.csv" in text_of(els[0]))
        run(browser)
        wait_for(browser, "#forecast-plot img", has_image)
        wait_for(browser, "#forecast-table", lambda els: els and "2018-02-21 00:00:00" in text_of(els[0]))
        assert "96 steps after 2018-02-20 23:00:00" in browser.find_element(By.ID, "note").text
        assert "forecast.csv" in text_of(browser.find_element(By.ID, "forecast-download"))
        shot(browser, "forecasting", tmp_path)


def test_forecast_page_wrong_csv(browser, tmp_path):
    bad = tmp_path / "wrong.csv"
    bad.write_text("time,a,b\n2020-01-01 00:00,1,2\n")
    with served("informer-etth1-h96") as url:
        browser.get(url)
        upload = wait_for(browser, "#history-csv input[type=file]", lambda els: bool(els))[0]
        upload.send_keys(str(bad))
        wait_for(browser, "#history-csv", lambda els: els and "wrong.csv" in text_of(els[0]))
        run(browser)
        wait_for_toast(browser, "DataFrame needs a 'date' column")


def test_image_classification_page(browser, tmp_path):
    with served("swin-cifar10") as url:
        browser.get(url)
        click_example(browser, index=0)  # the cat
        wait_for(browser, "#image img", has_image)
        run(browser)
        labels = wait_for(browser, "#labels", lambda els: els and "%" in els[0].text)[0].text
        names = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
        assert sum(n in labels for n in names) == 5, labels
        shot(browser, "image-classification", tmp_path)


def test_speech_separation_page(browser, tmp_path):
    with served("mossformer2-fsdd2mix") as url:
        browser.get(url)
        click_example(browser, index=0)
        wait_for(browser, "#mixture audio, #mixture .waveform-container, #mixture canvas, #mixture wave")
        run(browser)
        for i in (1, 2):  # a player (an <audio> element) and its WAV download link per speaker
            wait_for(browser, f"#track-{i} audio")
            link = wait_for(browser, f"#track-{i} a.download-link", lambda els: any(".wav" in (e.get_attribute("href") or "") for e in els))
            assert "/file=" in link[0].get_attribute("href")
        wait_for(browser, "#waveforms img", has_image)
        assert "into 2 tracks at 8000 Hz" in browser.find_element(By.ID, "note").text
        shot(browser, "speech-separation", tmp_path)


def test_segmentation_page(browser, tmp_path):
    with served("swin-unetr-brats-subset") as url:
        browser.get(url)
        click_example(browser, index=0)
        wait_for(browser, "#volume-1", lambda els: els and "brats-t1c.nii.gz" in text_of(els[0]))
        run(browser)
        wait_for(browser, "#overlay img", has_image)
        assert "edema (label 2)" in wait_for(browser, "#note", lambda els: els and "mL" in els[0].text)[0].text
        assert "segmentation.nii.gz" in text_of(browser.find_element(By.ID, "labels-download"))
        shot(browser, "segmentation", tmp_path)


def test_molecule_page(browser, tmp_path):
    with served("gps-esol") as url:
        browser.get(url)
        click_example(browser, "aspirin")
        run(browser)
        text = wait_for(browser, "#prediction", lambda els: els and "log10(mol/L)" in els[0].text)[0].text
        assert "CC(=O)Oc1ccccc1C(=O)O (aspirin)" in text
        wait_for(browser, "#molecule img", has_image)
        shot(browser, "molecule", tmp_path)
        box = browser.find_element(By.CSS_SELECTOR, "#smiles textarea, #smiles input")
        box.clear()
        box.send_keys("C1CC(")
        run(browser)
        wait_for_toast(browser, "invalid SMILES 'C1CC(': RDKit could not parse it")
