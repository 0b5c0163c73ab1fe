"""Login, being sent back to it, the language switch, and API errors shown next to their field."""

from __future__ import annotations

import re
from urllib.parse import quote

from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import LiveService
from tests.browser.wizard_page import log_in


def test_a_visitor_is_sent_to_login_and_back_to_the_page_asked_for(
    page: Page, live_service: LiveService
) -> None:
    page.goto(live_service.url + "/history")
    page.wait_for_url(re.compile(r"/login\?reason=required&next=%2Fhistory$"))
    expect(page.locator("#login-notice")).to_have_text("请先登录")
    page.fill("input[name=username]", live_service.username)
    page.fill("input[name=password]", "not-the-password")
    page.click("#login-form button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("用户名或密码错误")
    page.fill("input[name=password]", live_service.password)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r"/history$"))
    expect(page.locator("#whoami")).to_have_text(live_service.username)
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["setupwizard_session"]["httpOnly"] is True
    token = page.evaluate("sessionStorage.getItem('setupwizard.token')")
    assert token and token == cookies["setupwizard_session"]["value"]


def test_an_expired_login_sends_the_person_back_to_login(page: Page, live_service: LiveService) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password)
    # The page's own start-up requests (presets, a running session to reattach) finish first: one still in
    # flight at the logout would rightly send the page to /login before the person has typed anything.
    page.wait_for_load_state("networkidle")
    # The server forgets the login (logout revokes the token), as when it expires.
    response = page.context.request.post(live_service.url + "/api/auth/logout")
    assert response.ok
    page.fill("input[name=host]", "198.18.0.99")
    page.fill("input[name=password]", "whatever")
    page.click("section[data-step='1'] [data-next='2']")
    page.click("#test-connection")
    page.wait_for_url(re.compile(r"/login\?reason=expired&next=%2Fsetup$"))
    expect(page.locator("#login-notice")).to_have_text("登录已过期，请重新登录")


def test_the_english_switch_translates_every_page_and_is_remembered(
    page: Page, live_service: LiveService
) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("section[data-step='1'] h2")).to_have_text("1. 服务器")
    page.click("#lang-switch")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("section[data-step='1'] h2")).to_have_text("1. Server")
    expect(page.locator("#stepper")).to_contain_text("Test connection")
    expect(page.locator("#lang-switch")).to_have_text("中文")
    # No Chinese left in any translated element of the wizard.
    leftovers = page.eval_on_selector_all(
        "[data-i18n]", "els => els.map(e => e.textContent).filter(s => /[\\u4e00-\\u9fff]/.test(s))"
    )
    assert leftovers == ["中文"]  # the switch back names its language in that language
    page.goto(live_service.url + "/history")
    expect(page.locator("h1")).to_have_text("History")
    expect(page).to_have_title("History")
    page.click("#lang-switch")
    expect(page.locator("h1")).to_have_text("历史记录")
    page.reload()
    expect(page.locator("h1")).to_have_text("历史记录")


def test_a_field_the_service_rejects_is_marked_next_to_that_field_in_both_languages(
    page: Page, live_service: LiveService
) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password)
    # The browser only checks that the host is present; the service rejects this one (422, field=host).
    page.fill("input[name=host]", "not a host!")
    page.fill("input[name=password]", "whatever")
    page.click("section[data-step='1'] [data-next='2']")
    with page.expect_response(re.compile(r"/api/setup/test-connection$")) as answer:
        page.click("#test-connection")
    assert answer.value.status == 422
    assert answer.value.json()["field"] == "host"
    note = page.locator("[data-field-error='host']")
    expect(note).to_have_text("不是有效的 IP 地址或域名")
    expect(page.locator("section[data-step='1']")).to_be_visible()  # taken back to the step of the field
    expect(page.locator("input[name=host]")).to_have_attribute("aria-invalid", "true")
    # Correcting the field clears its note.
    page.fill("input[name=host]", "198.18.0.99")
    expect(note).to_have_count(0)

    page.click("#lang-switch")
    page.fill("input[name=host]", "still not a host!")
    page.click("section[data-step='1'] [data-next='2']")
    with page.expect_response(re.compile(r"/api/setup/test-connection$")):
        page.click("#test-connection")
    expect(page.locator("[data-field-error='host']")).to_have_text("Not a valid IP address or host name")


def test_the_browser_checks_required_fields_before_asking(page: Page, live_service: LiveService) -> None:
    log_in(page, live_service.url, live_service.username, live_service.password)
    # The page's own loading (it asks for a running session to come back to) is over before we count.
    page.wait_for_load_state("networkidle")
    page.fill("input[name=port]", "70000")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/api/setup/" in r.url else None)
    page.click("section[data-step='1'] [data-next='2']")
    expect(page.locator("[data-field-error='host']")).to_have_text("此项必填")
    expect(page.locator("[data-field-error='port']")).to_have_text("端口必须是 1 到 65535 之间的数字")
    expect(page.locator("[data-field-error='password']")).to_have_text("请填写密码或私钥")
    expect(page.locator("section[data-step='2']")).to_be_hidden()
    assert requests == []


def test_after_login_only_a_path_of_this_origin_is_followed(page: Page, live_service: LiveService) -> None:
    """``/login?next=/\\host/`` (also ``%5C``, ``%09/``): the browser reads each as ``//host/``, another
    origin. The other origin here is loopback's 127.0.0.2; any request to it is answered by the test."""
    base = live_service.url
    port = base.rsplit(":", 1)[1]
    elsewhere = f"127.0.0.2:{port}"
    landed_elsewhere: list[str] = []

    def other_origins(route: Route) -> None:
        if route.request.url.startswith(base + "/"):
            route.continue_()
        else:
            landed_elsewhere.append(route.request.url)
            route.fulfill(status=200, content_type="text/html", body="<h1>elsewhere</h1>")

    page.context.route("**/*", other_origins)
    tricks = [
        f"/\\{elsewhere}/",
        f"/%5C{elsewhere}/",
        f"/%5c%5c{elsewhere}/",
        f"/%09/{elsewhere}/",
        f"/\t/{elsewhere}/",
        f"//{elsewhere}/",
        f"/%2F{elsewhere}/",
        f"http://{elsewhere}/",
        "javascript:alert(1)",
    ]
    for trick in tricks:
        page.goto(f"{base}/login?next={quote(trick, safe='/%:')}")
        page.fill("input[name=username]", live_service.username)
        page.fill("input[name=password]", live_service.password)
        page.click("#login-form button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        assert page.url == base + "/setup", (trick, page.url)
        expect(page.locator("#whoami")).to_have_text(live_service.username)
    assert landed_elsewhere == []
    # a path of this origin, with its query and fragment, is still followed
    page.goto(f"{base}/login?next={quote('/history?page=2#top', safe='')}")
    page.fill("input[name=username]", live_service.username)
    page.fill("input[name=password]", live_service.password)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r"/history\?page=2#top$"))
