"""The widget on a hostile host page, as a person sees it: computed styles, sizes, pixels, no CSP refusals.

The widget's shadow root is closed on purpose; these tests open it (an init script makes attachShadow
ignore `mode: closed`) only to read computed styles. Pixels are read from screenshots.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.conversations.test_browser import browser, live_server_url  # noqa: F401 -- fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
OPEN_SHADOW = (
    "const attach = Element.prototype.attachShadow;"
    "Element.prototype.attachShadow = function (init) { return attach.call(this, {...init, mode: 'open'}); };"
)
BRAND = (31, 78, 121)  # #1f4e79


def _page(chromium: Any, base_url: str, *, width: int, height: int, mobile: bool = False) -> tuple[Any, list[str]]:
    context = chromium.new_context(
        base_url=base_url, viewport={"width": width, "height": height}, is_mobile=mobile, has_touch=mobile
    )
    context.add_init_script(OPEN_SHADOW)
    page = context.new_page()
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    return page, refused


def _style(page: Any, selector: str, *props: str) -> dict[str, str]:
    return page.locator(selector).evaluate(
        "(e, props) => { const s = getComputedStyle(e); return Object.fromEntries(props.map(p => [p, s[p]])); }",
        list(props),
    )


def _box(page: Any, selector: str) -> dict[str, float]:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not rendered"
    return box


def _pixel(png: bytes, x: float, y: float) -> tuple[int, int, int]:
    return Image.open(io.BytesIO(png)).convert("RGB").getpixel((int(x), int(y)))


def _chat_frame(page: Any, base_url: str) -> Any:
    deadline = time.monotonic() + 60  # a condition polled, not a sleep: only a broken widget waits this long
    while True:
        frames = [f for f in page.frames if f.url.startswith(f"{base_url}/chat/embed/")]
        if frames:
            return frames[0]
        assert time.monotonic() < deadline, "the widget did not open its frame"
        page.wait_for_timeout(100)


def _shot(page: Any, name: str) -> bytes:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return page.screenshot(path=str(SHOTS / name))


def test_widget_on_a_hostile_page_at_desktop_size_is_styled_sized_and_chats(live_server_url, browser):  # noqa: F811
    # given the demo shop page (hostile CSS, CSP style-src 'self') at desktop size
    page, refused = _page(browser, live_server_url, width=1280, height=800)
    response = page.goto("/chat/widget-demo/")
    assert "style-src 'self';" in response.headers["content-security-policy"]
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    launcher = page.locator("switchboard-widget .sb-launcher")
    launcher.wait_for(state="visible")
    # then the page keeps its own styles
    assert page.eval_on_selector("#host-title", "e => getComputedStyle(e).fontSize") == "40px"
    # and the launcher is the widget's styled pill in the bottom-right corner, not a grey default button
    style = _style(
        page,
        "switchboard-widget .sb-launcher",
        "backgroundColor",
        "color",
        "borderTopWidth",
        "borderTopLeftRadius",
        "fontFamily",
    )
    assert style["backgroundColor"] == "rgb(31, 78, 121)"
    assert style["color"] == "rgb(255, 255, 255)"
    assert style["borderTopWidth"] == "0px"
    assert style["borderTopLeftRadius"] == "26px"
    assert "Comic Sans" not in style["fontFamily"]
    box = _box(page, "switchboard-widget .sb-launcher")
    assert box["height"] == 52
    assert box["x"] + box["width"] == pytest.approx(1280 - 20, abs=1)
    assert box["y"] + box["height"] == pytest.approx(800 - 20, abs=1)
    assert launcher.inner_text() == "Chat with us"
    png = _shot(page, "widget-desktop-closed.png")
    assert _pixel(png, box["x"] + box["width"] - 12, box["y"] + box["height"] / 2) == BRAND
    # when the customer opens it from the keyboard (the launcher is the page's first focusable control)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    chat = _chat_frame(page, live_server_url)
    chat.wait_for_selector("#chat-conn:text('Connected')")
    # then a 380 x 620 panel opens above the launcher, with the chat connected inside it
    panel = _box(page, "switchboard-widget .sb-panel")
    assert (panel["width"], panel["height"]) == (380, 620)
    assert panel["y"] + panel["height"] <= box["y"]
    frame_box = _box(page, "switchboard-widget iframe")
    assert frame_box["width"] == 380
    assert frame_box["height"] == 620 - 44  # the panel's own title bar is 44 px
    assert chat.evaluate("() => document.getElementById('chat').dataset.channel") == "widget"
    assert chat.locator("#compose-text").is_visible()
    png = _shot(page, "widget-desktop-open.png")
    assert _pixel(png, panel["x"] + 8, panel["y"] + 22) == BRAND  # the title bar
    # and closing it puts the panel away
    page.locator("switchboard-widget .sb-close").click()
    assert not page.locator("switchboard-widget .sb-panel").is_visible()
    # and nothing was refused by the page's CSP
    assert refused == []
    page.close()


def test_widget_on_a_phone_opens_full_screen_and_closes_from_its_own_bar(live_server_url, browser):  # noqa: F811
    # given the demo page on a 375 x 812 phone
    page, refused = _page(browser, live_server_url, width=375, height=812, mobile=True)
    page.goto("/chat/widget-demo/")
    launcher = page.locator("switchboard-widget .sb-launcher")
    launcher.wait_for(state="visible")
    box = _box(page, "switchboard-widget .sb-launcher")
    assert box["height"] == 52
    assert box["x"] + box["width"] == pytest.approx(375 - 20, abs=1)
    # when they tap it
    launcher.tap()
    chat = _chat_frame(page, live_server_url)
    chat.wait_for_selector("#chat-conn:text('Connected')")
    # then the chat covers the whole screen, the launcher is out of the way, and the compose box is on screen
    panel = _box(page, "switchboard-widget .sb-panel")
    assert (panel["x"], panel["y"], panel["width"], panel["height"]) == (0, 0, 375, 812)
    assert not launcher.is_visible()
    compose = chat.locator("#compose-text").bounding_box()
    assert compose is not None
    assert compose["y"] + compose["height"] <= 812
    _shot(page, "widget-phone-open.png")
    # when they close it from the panel's bar, the launcher is back
    page.locator("switchboard-widget .sb-close").tap()
    launcher.wait_for(state="visible")
    assert not page.locator("switchboard-widget .sb-panel").is_visible()
    assert refused == []
    page.close()
