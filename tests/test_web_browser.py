"""End to end in headless Chromium (Debian's chromium, driven by Playwright): type a
query, apply a facet, open a document at the hit page and see the highlight; the same
without JavaScript. Screenshots go to test-artifacts/ as evidence of what a user sees."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import ROOT, served

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed (`make test` installs it)")


@pytest.fixture(scope="module")
def base_url(web_state):
    """The app served by uvicorn on a free port of 127.0.0.1, in a thread."""
    from textmine.app import create_app

    with served(create_app(web_state)) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="sv-SE")
    pg = context.new_page()
    yield pg
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def test_search_facet_and_open_the_hit(page, base_url):
    from playwright.sync_api import expect

    page.goto(base_url + "/")
    expect(page.locator("h2", has_text="Färdiga sökningar")).to_be_visible()
    page.fill("#q", "Får kommunen kräva att den som söker försörjningsstöd letar bostad i en annan kommun?")
    page.press("#q", "Enter")
    page.wait_for_load_state()
    hits = page.locator("li.hit-item")
    expect(hits).to_have_count(10)
    expect(page.locator("li.hit-item mark.term").first).to_be_visible()
    shot(page, "01-search-results")

    # apply a facet: court rulings only
    page.locator('section.facet[data-facet="doc_type"] a', has_text="Dom/beslut").click()
    page.wait_for_load_state()
    assert parse_qs(urlsplit(page.url).query)["type"] == ["court_ruling"]
    expect(page.locator(".filter-chip", has_text="Dom/beslut")).to_be_visible()
    types = page.locator("li.hit-item .meta .type").all_inner_texts()
    assert types and {t.strip().lower() for t in types} == {"dom/beslut"}
    shot(page, "02-facet-court-rulings")

    # open the first hit: the document at the hit's page, the hit marked and on screen
    first = page.locator("a.hit-link").first
    expected_page = int(parse_qs(urlsplit(first.get_attribute("href")).query)["page"][0])
    first.click()
    page.wait_for_load_state()
    hit = page.locator(".in-hit").first
    expect(hit).to_be_visible()
    expect(hit).to_be_in_viewport()
    section = page.locator("section.page.current-page")
    assert int(section.get_attribute("data-page")) == expected_page
    assert section.locator(".in-hit").count() >= 1
    background = hit.evaluate("el => getComputedStyle(el).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent")
    shot(page, "03-document-at-hit")

    # the page image of the hit page is rendered from the PDF
    image = section.locator("details.page-image img")
    if image.count():
        image.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle(), timeout=20000)
        assert image.evaluate("img => img.naturalWidth") == 1000
        shot(page, "04-page-image")


def test_ready_search_and_entity_page(page, base_url):
    from playwright.sync_api import expect

    page.goto(base_url + "/")
    page.locator("a.ready-search", has_text="Goda exempel och överenskommelser").click()
    page.wait_for_load_state()
    expect(page.locator("li.hit-item")).to_have_count(10)
    shot(page, "05-ready-search-good-examples")
    chip = page.locator("a.chip-KOMMUN").first
    name = chip.inner_text()
    chip.click()
    page.wait_for_load_state()
    expect(page.locator("h1")).to_have_text(name)
    expect(page.locator("h2", has_text="Per år")).to_be_visible()
    assert page.locator(".entity-docs tbody tr").count() >= 1
    shot(page, "06-entity-page")


def test_works_without_javascript(browser, base_url):
    from playwright.sync_api import expect

    context = browser.new_context(java_script_enabled=False, viewport={"width": 1366, "height": 900})
    page = context.new_page()
    try:
        page.goto(base_url + "/")
        page.fill("#q", "hyra deposition")
        page.click("form.search button[type=submit]")
        page.wait_for_load_state()
        expect(page.locator("li.hit-item").first).to_be_visible()
        page.locator("a.hit-link").first.click()
        page.wait_for_load_state()
        assert urlsplit(page.url).fragment == "passage"
        expect(page.locator(".in-hit").first).to_be_visible()
        shot(page, "07-no-javascript-document")
    finally:
        context.close()


def test_error_page_in_the_browser(page, base_url):
    from playwright.sync_api import expect

    response = page.goto(base_url + "/?county=Narnia&q=bostad")
    assert response.status == 400
    expect(page.locator(".error .message")).to_contain_text("okänt län")
    shot(page, "08-error")
