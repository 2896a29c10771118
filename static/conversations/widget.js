/* Switchboard chat widget for a shop's own pages.
 *
 *   <script src="https://support.example.com/static/conversations/widget.js"
 *           data-title="Chat with us" data-position="right"
 *           data-identity-token="<signed by your server, optional>" async></script>
 *
 * The launcher lives in a closed Shadow DOM (the page's CSS cannot reach it and
 * its CSS cannot reach the page); the chat itself runs in an iframe on the
 * Switchboard origin, so its session, storage and socket stay there. The token
 * travels in the iframe URL's fragment, which is never sent to any server. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__switchboardWidget) return;
  window.__switchboardWidget = true;

  var origin = new URL(script.src, window.location.href).origin;
  var title = script.dataset.title || "Chat with us";
  var side = script.dataset.position === "left" ? "left" : "right";
  var token = script.dataset.identityToken || "";

  // A custom element name: the page's `div`, `button` or `iframe` rules cannot select the host.
  var host = document.createElement("switchboard-widget");
  // The host element itself only positions; everything visible is inside the shadow root.
  host.style.cssText = "all: initial; display: block; position: fixed; bottom: 0; " + side + ": 0; z-index: 2147483000;";
  var shadow = host.attachShadow({ mode: "closed" });

  var style = document.createElement("style");
  style.textContent = [
    ":host { all: initial; }",
    ".sb-wrap { position: fixed; bottom: 16px; " + side + ": 16px; font: 15px/1.4 system-ui, sans-serif; }",
    ".sb-button { all: unset; box-sizing: border-box; cursor: pointer; background: #1f4e79; color: #fff;",
    "  padding: 12px 18px; border-radius: 24px; box-shadow: 0 4px 14px rgba(0,0,0,.25); font: inherit; }",
    ".sb-button:focus-visible { outline: 3px solid #f5b700; outline-offset: 2px; }",
    ".sb-panel { all: unset; display: none; position: fixed; bottom: 76px; " + side + ": 16px;",
    "  width: min(380px, calc(100vw - 32px)); height: min(600px, calc(100vh - 100px)); background: #fff;",
    "  border-radius: 12px; overflow: hidden; box-shadow: 0 8px 30px rgba(0,0,0,.3); }",
    ".sb-panel.open { display: block; }",
    "iframe { all: unset; display: block; width: 100%; height: 100%; border: 0; }"
  ].join("\n");
  shadow.appendChild(style);

  var wrap = document.createElement("div");
  wrap.className = "sb-wrap";
  var panel = document.createElement("div");
  panel.className = "sb-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", title);
  var button = document.createElement("button");
  button.className = "sb-button";
  button.type = "button";
  button.textContent = title;
  button.setAttribute("aria-expanded", "false");
  var frame = null;

  button.addEventListener("click", function () {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.title = title;
      frame.src = origin + "/chat/embed/" + (token ? "#token=" + encodeURIComponent(token) : "");
      panel.appendChild(frame);
    }
    var open = !panel.classList.contains("open");
    panel.classList.toggle("open", open);
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });

  wrap.appendChild(panel);
  wrap.appendChild(button);
  shadow.appendChild(wrap);
  (document.body || document.documentElement).appendChild(host);
})();
