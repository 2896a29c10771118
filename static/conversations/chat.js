/* Switchboard customer chat: the /chat/ page and the widget's frame.
 * Protocol: docs/chat-protocol.md. Everything from the server is untrusted: plain text goes on the page
 * with textContent. A reply's `html` (rendered and sanitised by the server, apps/conversations/rendering.py)
 * is parsed into an inert document and copied element by element through an allow-list here as well, so
 * not even the server's HTML is ever assigned as markup. */
(function () {
  "use strict";

  var root = document.getElementById("chat");
  if (!root) return;
  var STORE = "switchboard.chat." + root.dataset.channel;
  var SVG = "http://www.w3.org/2000/svg";
  var log = document.getElementById("chat-log");
  var conn = document.getElementById("chat-conn");
  var typing = document.getElementById("chat-typing");
  var notice = document.getElementById("chat-notice");
  var compose = document.getElementById("compose");
  var input = document.getElementById("compose-text");
  var verifyBox = document.getElementById("chat-verify");
  var verifyForm = document.getElementById("verify-form");
  var who = document.getElementById("chat-who");
  var signin = document.getElementById("chat-signin");
  var csatForm = document.getElementById("csat-form");
  var closedBox = document.getElementById("chat-closed");
  var newButton = document.getElementById("chat-new");
  var greeting = document.getElementById("chat-greeting");
  var attach = document.getElementById("attach");
  var attachInput = document.getElementById("attach-input");

  var state = load();
  var ws = null;
  var ready = false;
  var ended = false;
  var status = "new";
  var retry = 0;
  var drafts = {}; // customer message id -> the bubble the streamed reply is written into
  var rendered = {}; // seq -> true
  var feedback = {};
  var photoQueue = []; // photos chosen before the conversation existed: {id, file, li}, sent once it is ready
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
  function icon(paths) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "16");
    svg.setAttribute("height", "16");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("class", "icon");
    paths.forEach(function (d) {
      var p = document.createElementNS(SVG, "path");
      p.setAttribute("d", d);
      svg.appendChild(p);
    });
    return svg;
  }
  var THUMB_UP = ["M7 10v11H3V10h4z", "M7 10l4-8a2.5 2.5 0 0 1 2.5 2.5V9h5.6a2 2 0 0 1 2 2.3l-1.4 8A2 2 0 0 1 17.7 21H7"];
  var THUMB_DOWN = ["M17 14V3h4v11h-4z", "M17 14l-4 8a2.5 2.5 0 0 1-2.5-2.5V15H4.9a2 2 0 0 1-2-2.3l1.4-8A2 2 0 0 1 6.3 3H17"];

  function lastSeq() {
    var max = 0;
    Object.keys(rendered).forEach(function (k) { max = Math.max(max, Number(k)); });
    return max;
  }
  function setConn(text) { conn.textContent = text; }
  function showNotice(text, kind) {
    notice.textContent = text || "";
    notice.dataset.kind = kind || "info";
    notice.hidden = !text;
  }
  function scroll() { log.scrollTop = log.scrollHeight; }

  // -- safe rich text --------------------------------------------------------------------------
  var ALLOWED = { P: 1, BR: 1, STRONG: 1, EM: 1, UL: 1, OL: 1, LI: 1, CODE: 1, PRE: 1, BLOCKQUOTE: 1, A: 1, SPAN: 1 };
  function copySafe(from, to) {
    Array.prototype.forEach.call(from.childNodes, function (node) {
      if (node.nodeType === Node.TEXT_NODE) {
        to.appendChild(document.createTextNode(node.nodeValue));
      } else if (node.nodeType === Node.ELEMENT_NODE) {
        if (!ALLOWED[node.tagName]) { copySafe(node, to); return; }
        var copy = document.createElement(node.tagName.toLowerCase());
        if (node.tagName === "A") {
          var href = node.getAttribute("href") || "";
          if (/^https?:\/\//i.test(href)) {
            copy.setAttribute("href", href);
            copy.setAttribute("target", "_blank");
            copy.setAttribute("rel", "noopener noreferrer nofollow");
          }
        } else if (node.tagName === "SPAN" && node.classList.contains("link-blocked")) {
          copy.className = "link-blocked";
        } else if (node.tagName === "OL" && node.getAttribute("start")) {
          copy.setAttribute("start", String(parseInt(node.getAttribute("start"), 10) || 1));
        }
        copySafe(node, copy);
        to.appendChild(copy);
      }
    });
  }
  function setBody(li, m) {
    var old = li.querySelector(".msg-text");
    var body;
    if (m.html) {
      body = el("div", "msg-text msg-rich");
      copySafe(new DOMParser().parseFromString(m.html, "text/html").body, body);
    } else {
      body = el("p", "msg-text", m.text);
    }
    if (old) li.replaceChild(body, old); else li.appendChild(body);
  }

  // -- the socket -----------------------------------------------------------------------------
  function connect() {
    if (ended) return;
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + root.dataset.wsPath);
    ws = socket;
    setConn("Connecting…");
    socket.onopen = function () {
      retry = 0;
      socket.send(JSON.stringify({
        type: "hello",
        conversation: state.conversation,
        access: state.access,
        identity_token: identityToken || null,
        last_seq: lastSeq(),
        channel: root.dataset.channel
      }));
    };
    socket.onmessage = function (e) {
      if (socket !== ws) return;
      var ev;
      try { ev = JSON.parse(e.data); } catch (err) { return; }
      handle(ev);
    };
    socket.onclose = function (e) {
      if (socket !== ws) return; // replaced on purpose (a new conversation)
      ready = false;
      if (ended || e.code === 4401 || e.code === 4403 || e.code === 4404) {
        if (e.code === 4404) { state = { conversation: null, access: null, outbox: [] }; save(); log.textContent = ""; rendered = {}; }
        setConn("Disconnected");
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

  function setStatus(value) {
    status = value || status;
    var closed = status === "closed";
    compose.hidden = closed || ended;
    closedBox.hidden = !closed;
    attach.hidden = closed || ended;
    updateGreeting();
  }

  function updateGreeting() {
    greeting.hidden = status === "closed" || log.querySelector(".msg") !== null;
  }

  function handle(ev) {
    switch (ev.type) {
      case "ready":
        ready = true;
        setConn("Connected");
        if (ev.conversation) {
          // Another conversation than the one on screen: start from its replay. (From none to a new one the
          // log holds only what this page is sending into it: keep it.)
          if (state.conversation && state.conversation !== ev.conversation) { log.textContent = ""; rendered = {}; }
          state.conversation = ev.conversation;
          state.access = ev.access;
          save();
        }
        if (ev.identity) updateIdentity(ev.identity);
        feedback = ev.feedback || {};
        csatForm.hidden = !ev.csat_pending;
        setStatus(ev.status);
        flushOutbox();
        flushPhotos();
        break;
      case "message":
        renderMessage(ev.message);
        break;
      case "accepted":
        delete busyTries[ev.id];
        if (notice.dataset.kind === "busy") showNotice("");
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
        if (ev.status) setStatus(ev.status);
        break;
      case "closed":
        setStatus("closed");
        csatForm.hidden = false;
        break;
      case "verified":
        updateIdentity({ kind: "guest", verified_order: ev.order });
        showNotice("Order " + ev.order + " is verified: ask me anything about it.", "ok");
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
        if (ev.code === "busy" && ev.id) {
          // The server's turn queue is full and stored nothing: the message stays in the outbox (still
          // "pending" on screen) and goes again, same id, after the wait the server asked for.
          showNotice(ev.message || "We are busy; retrying in a moment.", "busy");
          retryBusy(ev.id, ev.retry_after);
          break;
        }
        if (ev.id) {
          state.outbox = state.outbox.filter(function (m) { return m.id !== ev.id; });
          photoQueue = photoQueue.filter(function (p) { return p.id !== ev.id; });
          save();
          var failed = log.querySelector('[data-client-id="' + cssId(ev.id) + '"]');
          if (failed) { failed.classList.remove("pending"); failed.classList.add("failed"); }
        }
        if (ev.code === "conversation_closed") setStatus("closed");
        showNotice(ev.message || "Something went wrong.", "error");
        break;
      default:
        break;
    }
  }

  var busyTries = {}; // client id -> "busy" answers so far
  function retryBusy(id, seconds) {
    // Doubling waits from the server's retry_after (at most 30 s): a long busy spell does not run the
    // message into the per-connection rate limit, which counts every attempt.
    busyTries[id] = (busyTries[id] || 0) + 1;
    var base = Math.max(1, Number(seconds) || 3) * Math.pow(2, busyTries[id] - 1);
    var wait = Math.min(30, base) * 1000 * (1 + Math.random() / 2);
    setTimeout(function () {
      var m = state.outbox.filter(function (o) { return o.id === id; })[0];
      if (m) send({ type: "message", id: m.id, text: m.text });
    }, wait);
  }

  function cssId(id) { return String(id).replace(/["\\]/g, ""); }

  function describeOutcome(ev) {
    var s = ev.status || ev.outcome || "";
    if (s === "approved" || s === "executed") return "Your refund request was approved.";
    if (s === "rejected") return "Your refund request was not approved.";
    return "There is an update on your refund request.";
  }

  function updateIdentity(identity) {
    if (identity.kind === "user" || identity.kind === "token") {
      who.textContent = "Signed in" + (identity.name ? " as " + identity.name : "");
      verifyBox.hidden = true;
      if (signin) signin.hidden = true;
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

  function timeLabel(iso) {
    var d = iso ? new Date(iso) : new Date();
    if (isNaN(d.getTime())) d = new Date();
    var t = el("time", "msg-time", d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
    t.setAttribute("datetime", d.toISOString());
    t.title = d.toLocaleString();
    return t;
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
      li.classList.remove("streaming");
    } else {
      li = bubble(m.role, m.text);
      if (m.data && m.data.kind === "approval_outcome") li.classList.add("msg-outcome");
      if (m.data && m.data.event === "waiting") li.classList.add("msg-waiting");
      log.appendChild(li);
    }
    if (m.role !== "customer") setBody(li, m);
    li.dataset.seq = m.seq;
    li.dataset.id = m.id;
    if (m.role === "customer") retireChoices();
    if (m.attachments && m.attachments.length && !li.querySelector(".msg-photos")) li.appendChild(photos(m.attachments));
    if (!li.querySelector(".msg-time")) li.appendChild(timeLabel(m.created_at));
    if (m.role === "assistant") {
      showTyping(false);
      decorateAnswer(li, m);
    }
    if (m.role === "staff" && !li.querySelector(".msg-by")) li.insertBefore(el("p", "msg-by", "Support team"), li.firstChild);
    if (m.data && m.data.event === "closed") setStatus("closed");
    updateGreeting();
    scroll();
  }

  function photos(list) {
    var box = el("div", "msg-photos");
    list.forEach(function (a) {
      var link = el("a", "msg-photo");
      link.href = a.url;
      link.target = "_blank";
      link.rel = "noopener";
      var img = el("img");
      img.src = a.url;
      img.alt = a.name ? "Photo: " + a.name : "Photo";
      if (a.width && a.height) { img.width = a.width; img.height = a.height; }
      link.appendChild(img);
      box.appendChild(link);
    });
    return box;
  }

  // Quick replies and order cards answer the latest question only: once the customer says anything, they go.
  function retireChoices() {
    log.querySelectorAll(".quick-replies, .order-cards").forEach(function (n) { n.remove(); });
  }

  function choices(m) {
    var data = m.data || {};
    var nodes = [];
    if (data.quick_replies && data.quick_replies.length) {
      var row = el("div", "quick-replies");
      row.setAttribute("role", "group");
      row.setAttribute("aria-label", "Quick replies");
      data.quick_replies.forEach(function (q) {
        var b = el("button", "quick-reply quick-" + (q.kind || "reply"), q.label || q.text);
        b.type = "button";
        b.dataset.text = q.text;
        b.addEventListener("click", function () { sendText(q.text); });
        row.appendChild(b);
      });
      nodes.push(row);
    }
    if (data.order_cards && data.order_cards.length) {
      var cards = el("ul", "order-cards");
      cards.setAttribute("aria-label", "Choose an order");
      data.order_cards.forEach(function (c) {
        var item = el("li");
        var b = el("button", "order-card");
        b.type = "button";
        b.dataset.text = c.text;
        var top = el("span", "order-card-top");
        top.appendChild(el("strong", "order-card-number", c.number));
        top.appendChild(el("span", "order-card-status status-" + String(c.status || "").replace(/[^a-z_]/g, ""), c.status_label));
        b.appendChild(top);
        if (c.items) b.appendChild(el("span", "order-card-items", c.items));
        if (c.placed_on) b.appendChild(el("span", "order-card-date", "Ordered " + new Date(c.placed_on + "T12:00:00").toLocaleDateString([], { day: "numeric", month: "short", year: "numeric" })));
        b.addEventListener("click", function () { sendText(c.text); });
        item.appendChild(b);
        cards.appendChild(item);
      });
      nodes.push(cards);
    }
    return nodes;
  }

  function decorateAnswer(li, m) {
    if (li.querySelector(".msg-meta")) return;
    var isLatest = !log.querySelector('.msg-customer[data-seq]') || Number(m.seq) >= lastCustomerSeq();
    if (isLatest) choices(m).forEach(function (n) { li.appendChild(n); });
    var meta = el("div", "msg-meta");
    if (m.sources && m.sources.length) {
      // Labelled by the server (apps/conversations/rendering.py source_labels): cited excerpts, each once.
      var cites = el("ul", "msg-cites");
      m.sources.forEach(function (label) { cites.appendChild(el("li", "", label)); });
      meta.appendChild(el("p", "msg-cites-label", "Sources"));
      meta.appendChild(cites);
    }
    var fb = el("div", "msg-feedback");
    [["up", "Helpful", THUMB_UP], ["down", "Not helpful", THUMB_DOWN]].forEach(function (spec) {
      var b = el("button", "fb fb-" + spec[0]);
      b.type = "button";
      b.appendChild(icon(spec[2]));
      b.appendChild(el("span", "visually-hidden", spec[1]));
      b.title = spec[1];
      b.setAttribute("aria-pressed", "false");
      b.dataset.rating = spec[0];
      b.addEventListener("click", function () { send({ type: "feedback", message: m.id, rating: spec[0] }); });
      fb.appendChild(b);
    });
    meta.appendChild(fb);
    li.appendChild(meta);
    if (feedback[String(m.id)]) markFeedback(m.id, feedback[String(m.id)]);
  }

  function lastCustomerSeq() {
    var max = 0;
    log.querySelectorAll(".msg-customer[data-seq]").forEach(function (n) { max = Math.max(max, Number(n.dataset.seq)); });
    return max;
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
      updateGreeting();
    }
    showTyping(false);
    var p = li.querySelector(".msg-text");
    p.textContent = p.textContent + (ev.text || "");
    scroll();
  }

  // -- what the customer does -----------------------------------------------------------------
  function sendText(text) {
    text = (text || "").trim();
    if (!text || status === "closed") return;
    var id = newId();
    state.outbox.push({ id: id, text: text });
    save();
    retireChoices();
    var li = bubble("customer", text);
    li.classList.add("pending");
    li.dataset.clientId = id;
    log.appendChild(li);
    updateGreeting();
    scroll();
    send({ type: "message", id: id, text: text });
  }

  compose.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    sendText(text);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); compose.requestSubmit(); }
  });
  greeting.addEventListener("click", function (e) {
    var b = e.target.closest(".suggestion");
    if (b) sendText(b.dataset.text);
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
    var picked = csatForm.querySelector('input[name="score"]:checked');
    if (!picked) return;
    send({ type: "csat", score: Number(picked.value), comment: document.getElementById("csat-comment").value });
  });
  newButton.addEventListener("click", function () {
    // Forget the closed conversation; the next message starts a new one (the old one stays in the records).
    state = { conversation: null, access: null, outbox: [] };
    save();
    log.textContent = "";
    rendered = {};
    drafts = {};
    csatForm.hidden = true;
    showNotice("");
    status = "new";
    setStatus("new");
    var old = ws;
    ws = null;
    ready = false;
    if (old) old.close(1000);
    connect();
    input.focus();
  });

  // A photo needs a conversation to belong to: before the first message, the socket starts one and the
  // photo waits (on screen, as pending) until `ready` names it.
  attachInput.addEventListener("change", function () {
    var file = attachInput.files && attachInput.files[0];
    attachInput.value = "";
    if (!file || status === "closed") return;
    var max = Number(root.dataset.attachmentMaxBytes || 0);
    if (max && file.size > max) {
      showNotice("That photo is larger than " + Math.floor(max / 1048576) + " MB.", "error");
      return;
    }
    var id = newId();
    var li = bubble("customer", "Sending a photo: " + file.name + "…");
    li.classList.add("pending");
    li.dataset.clientId = id;
    log.appendChild(li);
    updateGreeting();
    scroll();
    var photo = { id: id, file: file, li: li };
    if (state.conversation) {
      uploadPhoto(photo);
    } else {
      photoQueue.push(photo);
      send({ type: "start", id: id }); // if the socket is not ready yet, `ready` flushes the queue
    }
  });

  function flushPhotos() {
    if (!photoQueue.length) return;
    if (!state.conversation) { send({ type: "start", id: photoQueue[0].id }); return; }
    var queued = photoQueue;
    photoQueue = [];
    queued.forEach(uploadPhoto);
  }

  function uploadPhoto(photo) {
    var li = photo.li;
    var body = new FormData();
    body.append("file", photo.file);
    body.append("client_message_id", photo.id);
    var headers = { "X-CSRFToken": root.dataset.csrf || "" };
    if (state.access) headers["X-Chat-Access"] = state.access;
    if (identityToken) headers["X-Chat-Identity"] = identityToken;
    fetch("/api/v1/conversations/" + encodeURIComponent(state.conversation) + "/attachments/", {
      method: "POST", body: body, headers: headers, credentials: "same-origin"
    }).then(function (r) {
      return r.json().then(function (data) { return { ok: r.ok, data: data }; });
    }).then(function (res) {
      if (!res.ok) {
        li.classList.remove("pending");
        li.classList.add("failed");
        var err = res.data && res.data.error;
        showNotice((err && err.message) || "The photo could not be sent.", "error");
        return;
      }
      li.querySelector(".msg-text").textContent = res.data.text;
      renderMessage(res.data);
    }).catch(function () {
      li.classList.remove("pending");
      li.classList.add("failed");
      showNotice("The photo could not be sent. Check your connection and try again.", "error");
    });
  }

  connect();
})();
