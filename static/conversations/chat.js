/* Switchboard customer chat: the /chat/ page and the widget's frame.
 * Protocol: docs/chat-protocol.md. Everything from the server is untrusted text:
 * it is only ever put on the page with textContent, never parsed as HTML. */
(function () {
  "use strict";

  var root = document.getElementById("chat");
  if (!root) return;
  var STORE = "switchboard.chat." + root.dataset.channel;
  var log = document.getElementById("chat-log");
  var conn = document.getElementById("chat-conn");
  var typing = document.getElementById("chat-typing");
  var notice = document.getElementById("chat-notice");
  var compose = document.getElementById("compose");
  var input = document.getElementById("compose-text");
  var verifyBox = document.getElementById("chat-verify");
  var verifyForm = document.getElementById("verify-form");
  var who = document.getElementById("chat-who");
  var csatForm = document.getElementById("csat-form");

  var state = load();
  var ws = null;
  var ready = false;
  var ended = false;
  var retry = 0;
  var drafts = {}; // customer message id -> the bubble the streamed reply is written into
  var rendered = {}; // seq -> true
  var feedback = {};
  var typingTimer = null;
  var identityToken = "";
  var hash = new URLSearchParams(window.location.hash.slice(1));
  if (hash.get("token")) {
    identityToken = hash.get("token");
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }

  function load() {
    try {
      var s = JSON.parse(localStorage.getItem(STORE) || "{}");
      return { conversation: s.conversation || null, access: s.access || null, outbox: s.outbox || [] };
    } catch (e) {
      return { conversation: null, access: null, outbox: [] };
    }
  }
  function save() {
    try {
      localStorage.setItem(STORE, JSON.stringify(state));
    } catch (e) { /* private mode: the chat still works for this page view */ }
  }
  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "m-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }
  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }
  function lastSeq() {
    var max = 0;
    Object.keys(rendered).forEach(function (k) { max = Math.max(max, Number(k)); });
    return max;
  }
  function setConn(text) { conn.textContent = text; }
  function showNotice(text, kind) {
    notice.textContent = text;
    notice.dataset.kind = kind || "info";
    notice.hidden = !text;
  }
  function scroll() { log.scrollTop = log.scrollHeight; }

  function connect() {
    if (ended) return;
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(scheme + window.location.host + root.dataset.wsPath);
    setConn("Connecting…");
    ws.onopen = function () {
      retry = 0;
      ws.send(JSON.stringify({
        type: "hello",
        conversation: state.conversation,
        access: state.access,
        identity_token: identityToken || null,
        last_seq: lastSeq(),
        channel: root.dataset.channel
      }));
    };
    ws.onmessage = function (e) {
      var ev;
      try { ev = JSON.parse(e.data); } catch (err) { return; }
      handle(ev);
    };
    ws.onclose = function (e) {
      ready = false;
      if (ended || e.code === 4401 || e.code === 4403 || e.code === 4404) {
        if (e.code === 4404) { state = { conversation: null, access: null, outbox: [] }; save(); }
        setConn(ended ? "Disconnected" : "Disconnected");
        if (e.code === 4404 && !ended) { setTimeout(connect, 200); }
        return;
      }
      retry += 1;
      var wait = Math.min(10000, 300 * Math.pow(2, retry)) * (0.5 + Math.random() / 2);
      setConn("Reconnecting…");
      setTimeout(connect, wait);
    };
  }

  function send(frame) {
    if (ws && ready && ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  function flushOutbox() {
    state.outbox.forEach(function (m) { send({ type: "message", id: m.id, text: m.text }); });
  }

  function handle(ev) {
    switch (ev.type) {
      case "ready":
        ready = true;
        setConn("Connected");
        if (ev.conversation) {
          if (state.conversation !== ev.conversation) { log.textContent = ""; rendered = {}; }
          state.conversation = ev.conversation;
          state.access = ev.access;
          save();
        }
        if (ev.identity) updateIdentity(ev.identity);
        feedback = ev.feedback || {};
        csatForm.hidden = !ev.csat_pending;
        compose.hidden = ev.status === "closed";
        flushOutbox();
        break;
      case "message":
        renderMessage(ev.message);
        break;
      case "accepted":
        state.outbox = state.outbox.filter(function (m) { return m.id !== ev.id; });
        save();
        var pending = log.querySelector('[data-client-id="' + cssId(ev.id) + '"]');
        if (pending) pending.classList.remove("pending");
        break;
      case "typing":
        showTyping(ev.active !== false);
        break;
      case "delta":
        renderDelta(ev);
        break;
      case "delta_reset":
        // The model failed mid-answer: drop what was streamed; the retry streams afresh.
        if (drafts[ev.reply_to]) { drafts[ev.reply_to].querySelector(".msg-text").textContent = ""; }
        break;
      case "approval_outcome":
        // The outcome is also stored as a message (shown in the log); this is the live heads-up.
        var outcome = ev.outcome || ev;
        showNotice(outcome.text || describeOutcome(outcome), "outcome");
        break;
      case "handoff":
        if (ev.status === "human") showNotice("You are chatting with " + (ev.agent || ev.staff_name || "our support team") + ".");
        else if (ev.status === "waiting_human") showNotice("We are connecting you with a person from our team.");
        else if (ev.status === "open") showNotice("");
        break;
      case "closed":
        compose.hidden = true;
        csatForm.hidden = false;
        break;
      case "verified":
        updateIdentity({ kind: "guest", verified_order: ev.order });
        break;
      case "csat_saved":
        csatForm.hidden = true;
        showNotice("Thank you for your feedback.");
        break;
      case "feedback_saved":
        markFeedback(ev.message, ev.rating);
        break;
      case "session_ended":
        ended = true;
        showNotice(ev.message || "Your session has ended.", "error");
        compose.hidden = true;
        break;
      case "error":
        if (ev.id) {
          state.outbox = state.outbox.filter(function (m) { return m.id !== ev.id; });
          save();
          var failed = log.querySelector('[data-client-id="' + cssId(ev.id) + '"]');
          if (failed) { failed.classList.remove("pending"); failed.classList.add("failed"); }
        }
        showNotice(ev.message || "Something went wrong.", "error");
        break;
      default:
        break;
    }
  }

  function cssId(id) { return String(id).replace(/["\\]/g, ""); }

  function describeOutcome(ev) {
    var status = ev.status || ev.outcome || "";
    if (status === "approved" || status === "executed") return "Your refund request was approved.";
    if (status === "rejected") return "Your refund request was not approved.";
    return "There is an update on your refund request.";
  }

  function updateIdentity(identity) {
    if (identity.kind === "user" || identity.kind === "token") {
      who.textContent = "Signed in" + (identity.name ? " as " + identity.name : "");
      verifyBox.hidden = true;
    } else if (identity.verified_order) {
      who.textContent = "Order " + identity.verified_order + " verified";
      verifyBox.hidden = true;
    }
  }

  function showTyping(on) {
    typing.hidden = !on;
    clearTimeout(typingTimer);
    if (on) typingTimer = setTimeout(function () { typing.hidden = true; }, 15000);
  }

  function bubble(role, text) {
    var li = el("li", "msg msg-" + role);
    li.appendChild(el("p", "msg-text", text));
    return li;
  }

  function renderMessage(m) {
    if (rendered[m.seq]) return;
    rendered[m.seq] = true;
    var li = m.client_message_id ? log.querySelector('[data-client-id="' + cssId(m.client_message_id) + '"]') : null;
    if (li) {
      li.classList.remove("pending");
    } else if (m.role === "assistant" && m.in_reply_to && drafts[m.in_reply_to]) {
      li = drafts[m.in_reply_to];
      delete drafts[m.in_reply_to];
      li.querySelector(".msg-text").textContent = m.text;
      li.classList.remove("streaming");
    } else {
      li = bubble(m.role, m.text);
      if (m.data && m.data.kind === "approval_outcome") li.classList.add("msg-outcome");
      log.appendChild(li);
    }
    li.dataset.seq = m.seq;
    li.dataset.id = m.id;
    if (m.role === "assistant") {
      showTyping(false);
      decorateAnswer(li, m);
    }
    if (m.role === "staff") li.insertBefore(el("p", "msg-by", "Support team"), li.firstChild);
    if (m.data && m.data.event === "closed") { compose.hidden = true; }
    scroll();
  }

  function decorateAnswer(li, m) {
    if (li.querySelector(".msg-meta")) return;
    var meta = el("div", "msg-meta");
    if (m.citations && m.citations.length) {
      var cites = el("ul", "msg-cites");
      m.citations.forEach(function (c) {
        var title = typeof c === "string" ? c : (c.title || c.source || c.document || "source");
        cites.appendChild(el("li", "", title));
      });
      meta.appendChild(el("p", "msg-cites-label", "Sources"));
      meta.appendChild(cites);
    }
    var fb = el("div", "msg-feedback");
    ["up", "down"].forEach(function (rating) {
      var b = el("button", "fb fb-" + rating, rating === "up" ? "👍" : "👎");
      b.type = "button";
      b.setAttribute("aria-label", rating === "up" ? "Helpful" : "Not helpful");
      b.dataset.rating = rating;
      b.addEventListener("click", function () { send({ type: "feedback", message: m.id, rating: rating }); });
      fb.appendChild(b);
    });
    meta.appendChild(fb);
    li.appendChild(meta);
    if (feedback[String(m.id)]) markFeedback(m.id, feedback[String(m.id)]);
  }

  function markFeedback(messageId, rating) {
    var li = log.querySelector('[data-id="' + Number(messageId) + '"]');
    if (!li) return;
    li.querySelectorAll(".fb").forEach(function (b) {
      b.setAttribute("aria-pressed", b.dataset.rating === rating ? "true" : "false");
    });
  }

  function renderDelta(ev) {
    var key = ev.reply_to;
    var li = drafts[key];
    if (!li) {
      li = bubble("assistant", "");
      li.classList.add("streaming");
      drafts[key] = li;
      log.appendChild(li);
    }
    showTyping(false);
    var p = li.querySelector(".msg-text");
    p.textContent = p.textContent + (ev.text || "");
    scroll();
  }

  compose.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    var id = newId();
    state.outbox.push({ id: id, text: text });
    save();
    var li = bubble("customer", text);
    li.classList.add("pending");
    li.dataset.clientId = id;
    log.appendChild(li);
    scroll();
    input.value = "";
    send({ type: "message", id: id, text: text });
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); compose.requestSubmit(); }
  });
  verifyForm.addEventListener("submit", function (e) {
    e.preventDefault();
    send({
      type: "verify",
      order_number: document.getElementById("verify-number").value,
      email: document.getElementById("verify-email").value
    });
  });
  csatForm.addEventListener("submit", function (e) {
    e.preventDefault();
    var score = e.submitter ? Number(e.submitter.value) : 0;
    send({ type: "csat", score: score, comment: document.getElementById("csat-comment").value });
  });

  connect();
})();
