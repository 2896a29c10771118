/* Switchboard chat widget for a shop's own pages.
 *
 *   <script src="https://support.example.com/static/conversations/widget.js"
 *           data-title="Chat with us" data-position="right"
 *           data-identity-token="<signed by your server, optional>" async></script>
 *
 * The launcher lives in a closed Shadow DOM (the page's CSS cannot reach it and
 * its CSS cannot reach the page); the chat itself runs in an iframe on the
 * Switchboard origin, so its session, storage and socket stay there. The token
 * travels in the iframe URL's fragment, which is never sent to any server.
 *
 * Styles: a host page's CSP usually forbids inline styles (`style-src 'self'`
 * blocks <style> elements and style attributes). The widget's styles go into a
 * constructable stylesheet adopted by the shadow root, which CSP does not
 * govern; browsers without constructable stylesheets load widget.css from the
 * Switchboard origin instead. No element gets a style attribute. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__switchboardWidget) return;
  window.__switchboardWidget = true;

  var origin = new URL(script.src, window.location.href).origin;
  var title = script.dataset.title || "Chat with us";
  var side = script.dataset.position === "left" ? "left" : "right";
  var token = script.dataset.identityToken || "";
  var SVG = "http://www.w3.org/2000/svg";

  // `!important` on :host: for the host element, a shadow tree's important rules beat the page's
  // (even the page's `* { ... !important }`); everything inside the shadow root is out of its reach.
  var CSS = [
    ":host { all: initial !important; display: block !important; position: fixed !important;",
    "  inset: auto !important; bottom: 0 !important; " + side + ": 0 !important; width: 0 !important;",
    "  height: 0 !important; margin: 0 !important; padding: 0 !important; border: 0 !important;",
    "  z-index: 2147483000 !important; visibility: visible !important; opacity: 1 !important;",
    "  transform: none !important; filter: none !important; contain: none !important; }",
    ".sb-wrap { all: initial; font: 15px/1.4 system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1d2430; }",
    ".sb-launcher { all: initial; box-sizing: border-box; position: fixed; bottom: 20px; " + side + ": 20px;",
    "  display: inline-flex; align-items: center; gap: 8px; height: 52px; padding: 0 20px 0 16px;",
    "  border-radius: 26px; background: #1f4e79; color: #fff; cursor: pointer;",
    "  font: 600 15px/1 system-ui, -apple-system, 'Segoe UI', sans-serif;",
    "  box-shadow: 0 6px 20px rgba(15, 30, 50, .28); transition: transform .15s ease; }",
    ".sb-launcher:hover { transform: translateY(-1px); background: #245a8b; }",
    ".sb-launcher:focus-visible { outline: 3px solid #f5b700; outline-offset: 3px; }",
    ".sb-launcher svg { width: 22px; height: 22px; fill: none; stroke: currentColor; stroke-width: 2;",
    "  stroke-linecap: round; stroke-linejoin: round; flex: none; }",
    ".sb-panel { all: initial; box-sizing: border-box; display: none; position: fixed; bottom: 88px;",
    "  " + side + ": 20px; width: 380px; max-width: calc(100vw - 40px); height: 620px;",
    "  max-height: calc(100vh - 108px); background: #fff; border-radius: 14px; overflow: hidden;",
    "  box-shadow: 0 12px 40px rgba(15, 30, 50, .32); flex-direction: column; }",
    ".sb-panel.open { display: flex; }",
    ".sb-bar { all: initial; box-sizing: border-box; display: flex; align-items: center; gap: 8px; height: 44px;",
    "  padding: 0 8px 0 16px; background: #1f4e79; color: #fff; flex: none;",
    "  font: 600 15px/1 system-ui, -apple-system, 'Segoe UI', sans-serif; }",
    ".sb-bar-title { all: initial; flex: 1 1 auto; color: inherit; font: inherit; overflow: hidden;",
    "  text-overflow: ellipsis; white-space: nowrap; }",
    ".sb-close { all: initial; box-sizing: border-box; width: 32px; height: 32px; border-radius: 8px;",
    "  display: inline-flex; align-items: center; justify-content: center; color: #fff; cursor: pointer; }",
    ".sb-close:hover { background: rgba(255, 255, 255, .15); }",
    ".sb-close:focus-visible { outline: 2px solid #f5b700; }",
    ".sb-close svg { width: 18px; height: 18px; fill: none; stroke: currentColor; stroke-width: 2.4;",
    "  stroke-linecap: round; }",
    ".sb-frame { all: initial; display: block; flex: 1 1 auto; width: 100%; min-height: 0; border: 0; background: #fff; }",
    // Phones: the open chat takes the whole screen; the panel's own bar closes it.
    "@media (max-width: 520px) {",
    "  .sb-panel { inset: 0; width: 100vw; max-width: none; height: 100vh; height: 100dvh; max-height: none;",
    "    border-radius: 0; bottom: 0; " + side + ": 0; }",
    "  .sb-launcher.hidden-on-small { display: none; }",
    "}"
  ].join("\n");

  var host = document.createElement("switchboard-widget");
  var shadow = host.attachShadow({ mode: "closed" });
  adoptStyles(shadow);

  function adoptStyles(root) {
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
      return;
    } catch (e) { /* no constructable stylesheets: load the same rules from our origin */ }
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = origin + "/static/conversations/widget.css";
    link.dataset.side = side;
    root.appendChild(link);
  }

  function icon(paths, size) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", size);
    svg.setAttribute("height", size);
    svg.setAttribute("aria-hidden", "true");
    paths.forEach(function (d) {
      var p = document.createElementNS(SVG, "path");
      p.setAttribute("d", d);
      svg.appendChild(p);
    });
    return svg;
  }

  var wrap = document.createElement("div");
  wrap.className = "sb-wrap sb-" + side;

  var panel = document.createElement("div");
  panel.className = "sb-panel";
  panel.id = "sb-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", title);
  var bar = document.createElement("div");
  bar.className = "sb-bar";
  var barTitle = document.createElement("span");
  barTitle.className = "sb-bar-title";
  barTitle.textContent = title;
  var close = document.createElement("button");
  close.className = "sb-close";
  close.type = "button";
  close.setAttribute("aria-label", "Close chat");
  close.appendChild(icon(["M6 6l12 12", "M18 6L6 18"], "18"));
  bar.appendChild(barTitle);
  bar.appendChild(close);
  panel.appendChild(bar);

  var launcher = document.createElement("button");
  launcher.className = "sb-launcher";
  launcher.type = "button";
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "sb-panel");
  launcher.appendChild(icon(["M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z"], "22"));
  var label = document.createElement("span");
  label.textContent = title;
  launcher.appendChild(label);

  var frame = null;
  function setOpen(open) {
    if (open && !frame) {
      frame = document.createElement("iframe");
      frame.className = "sb-frame";
      frame.title = title;
      frame.src = origin + "/chat/embed/" + (token ? "#token=" + encodeURIComponent(token) : "");
      panel.appendChild(frame);
    }
    panel.classList.toggle("open", open);
    launcher.classList.toggle("hidden-on-small", open);
    launcher.setAttribute("aria-expanded", open ? "true" : "false");
    if (!open) launcher.focus();
  }
  launcher.addEventListener("click", function () { setOpen(!panel.classList.contains("open")); });
  close.addEventListener("click", function () { setOpen(false); });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") setOpen(false); });

  wrap.appendChild(panel);
  wrap.appendChild(launcher);
  shadow.appendChild(wrap);
  (document.body || document.documentElement).appendChild(host);
})();
