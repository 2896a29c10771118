/* Staff live console: the queue refreshes itself and the open conversation updates live.
 * Customer and model text is untrusted: streamed text goes on the page with textContent only; the queue
 * and each stored message's transcript entry are HTML rendered (escaped, replies sanitised) by the server
 * with the same templates as the page itself, so a live message looks as it does after a reload. */
(function () {
  "use strict";
  var root = document.getElementById("console");
  if (!root) return;
  var conn = document.getElementById("console-conn");
  var queue = document.getElementById("queue");
  var transcript = document.getElementById("transcript");
  var typing = document.getElementById("console-typing");
  var watching = root.dataset.conversation || null;
  var seen = {};
  var drafts = {};
  var retry = 0;
  var refreshTimer = null;

  if (transcript) {
    transcript.querySelectorAll("[data-seq]").forEach(function (li) { seen[li.dataset.seq] = true; });
  }

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = String(text);
    return n;
  }

  function refreshQueue() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      fetch(root.dataset.queueUrl, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var parts = ["queue-scopes", "queue-table"].map(function (id) { return doc.getElementById(id); });
          if (parts[1]) {
            queue.replaceChildren.apply(queue, parts.filter(Boolean).map(function (n) { return document.importNode(n, true); }));
            if (watching) {
              var row = queue.querySelector('tr[data-conversation="' + watching + '"]');
              if (row) row.classList.add("current");
            }
          }
        })
        .catch(function () { /* next event retries */ });
    }, 150);
  }

  // The server's rendering of a transcript entry (support/_console_message.html), parsed inert.
  function entryNode(html) {
    if (!html) return null;
    var node = new DOMParser().parseFromString("<ol>" + html + "</ol>", "text/html").querySelector("li.msg");
    return node ? document.importNode(node, true) : null;
  }

  function appendMessage(m, entry) {
    if (!transcript || seen[m.seq]) return;
    seen[m.seq] = true;
    var draft = m.role === "assistant" && m.in_reply_to ? drafts[m.in_reply_to] : null;
    if (draft) delete drafts[m.in_reply_to];
    var li = entryNode(entry);
    if (!li) {
      // No rendering came with the event: the plain text, as it was stored.
      li = el("li", "msg msg-" + m.role);
      li.appendChild(el("p", "msg-by", "#" + m.seq + " · " + m.role + (m.agent ? " · " + m.agent : "")));
      li.appendChild(el("p", "msg-text", m.text));
      li.dataset.seq = m.seq;
    }
    if (draft) transcript.replaceChild(li, draft);
    else transcript.appendChild(li);
    typing.hidden = true;
    li.scrollIntoView({ block: "end" });
  }

  function onConversationEvent(ev) {
    if (ev.conversation !== watching) return;
    if (ev.event === "message") appendMessage(ev.message, ev.entry);
    else if (ev.event === "typing") typing.hidden = ev.active === false;
    else if (ev.event === "delta" && transcript) {
      var li = drafts[ev.reply_to];
      if (!li) {
        li = el("li", "msg msg-assistant streaming");
        li.appendChild(el("p", "msg-by", "assistant (writing)"));
        li.appendChild(el("p", "msg-text", ""));
        drafts[ev.reply_to] = li;
        transcript.appendChild(li);
      }
      var p = li.querySelector(".msg-text");
      p.textContent = p.textContent + (ev.text || "");
    } else if (ev.event === "handoff" || ev.event === "closed") {
      var status = document.getElementById("conversation-status");
      if (status && ev.status) status.textContent = ev.status;
    }
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + window.location.host + "/ws/console/");
    ws.onopen = function () {
      retry = 0;
      // With a conversation open, "Live" waits for the server to confirm it sends that conversation's events.
      if (watching) ws.send(JSON.stringify({ type: "watch", conversation: watching }));
      else conn.textContent = "Live";
      refreshQueue();
    };
    ws.onmessage = function (e) {
      var ev;
      try { ev = JSON.parse(e.data); } catch (err) { return; }
      if (ev.type === "queue") refreshQueue();
      else if (ev.type === "watching") conn.textContent = "Live";
      else if (ev.type === "conversation") onConversationEvent(ev);
      else if (ev.type === "session_ended") { conn.textContent = "Signed out"; retry = -1; }
    };
    ws.onclose = function (e) {
      if (retry < 0 || e.code === 4403 || e.code === 4401) { conn.textContent = "Not connected (sign in again)"; return; }
      retry += 1;
      conn.textContent = "Reconnecting…";
      setTimeout(connect, Math.min(10000, 300 * Math.pow(2, retry)));
    };
  }

  var form = document.getElementById("reply-form");
  if (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var data = new FormData(form);
      data.append("client_message_id", (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()));
      fetch(form.action, { method: "POST", body: data, credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (res) {
          if (res.ok) document.getElementById("reply-text").value = "";
          else window.alert(res.body.error ? res.body.error.message : "Could not send.");
        });
    });
    document.getElementById("reply-text").addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
    });
  }

  // A saved reply goes into the box at the cursor, for the person to edit before sending.
  var saved = document.getElementById("saved-reply");
  if (saved) {
    saved.addEventListener("change", function () {
      var option = saved.options[saved.selectedIndex];
      var box = document.getElementById("reply-text");
      if (!option || !option.dataset.text || !box) return;
      var start = box.selectionStart || 0, end = box.selectionEnd || 0, value = box.value;
      box.value = value.slice(0, start) + option.dataset.text + value.slice(end);
      box.focus();
      var at = start + option.dataset.text.length;
      box.setSelectionRange(at, at);
      saved.selectedIndex = 0;
    });
  }

  connect();
})();
