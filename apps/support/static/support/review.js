/* Transcript review: a trace step's raw JSON is fetched when its toggle is first opened (the page carries
 * the timelines only). Untrusted text: written with textContent. */
(function () {
  "use strict";
  document.addEventListener("toggle", function (e) {
    var box = e.target;
    if (!box.dataset || !box.dataset.step || !box.open || box.dataset.loaded) return;
    var timeline = box.closest("[data-steps]");
    if (!timeline) return;
    box.dataset.loaded = "1";
    var pre = box.querySelector("pre");
    pre.textContent = "Loading…";
    fetch(timeline.dataset.steps + encodeURIComponent(box.dataset.step) + ".json", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) { pre.textContent = JSON.stringify(data, null, 2); })
      .catch(function () { pre.textContent = "Could not load this step's data."; delete box.dataset.loaded; });
  }, true);
})();
