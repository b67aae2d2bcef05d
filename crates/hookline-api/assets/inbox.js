// hookline's inbox page: new captured requests arrive over server-sent events as rendered items and are put at
// the top of the list, and the copy-as-curl buttons copy their command. The page works without this file: a
// reload shows new requests, and each curl command can be selected by hand.
"use strict";
(function () {
  var live = document.getElementById("live");
  var list = document.getElementById("requests");

  function copy(button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.textContent;
    var done = function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy curl command"; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallback(source, done); });
    } else {
      fallback(source, done);
    }
  }

  // Without the Clipboard API (plain HTTP on another host): open the command, select it and copy the selection.
  function fallback(source, done) {
    var details = source.closest("details");
    if (details) details.open = true;
    var range = document.createRange();
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    try { if (document.execCommand("copy")) done(); } catch (e) { /* the text stays selected */ }
  }

  function arm(root) {
    root.querySelectorAll("button.copy").forEach(function (button) { button.hidden = false; });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button.copy");
    if (button) copy(button);
  });
  arm(document);

  if (!live || !list || !window.EventSource) return;
  var source = new EventSource(live.getAttribute("data-stream"));
  source.onopen = function () { live.textContent = "Live: new requests show here as they arrive."; };
  source.onmessage = function (event) {
    var template = document.createElement("template");
    template.innerHTML = event.data.trim();
    var item = template.content.firstElementChild;
    if (!item || document.getElementById(item.id)) return;
    arm(template.content);
    list.insertBefore(template.content, list.firstChild);
    var empty = document.getElementById("no-requests");
    if (empty) empty.remove();
    var count = document.getElementById("request-count");
    if (count) count.textContent = String(Number(count.textContent) + 1);
  };
  // `end`: the inbox was deleted or expired, or the stream reached its time limit; EventSource reconnects by
  // itself with Last-Event-ID, which resumes, or fails for good (404) when the inbox is gone.
  source.addEventListener("end", function (event) {
    try { live.textContent = "Live updates paused: " + JSON.parse(event.data).reason + "."; } catch (e) { /* keep */ }
  });
  source.onerror = function () {
    if (source.readyState === EventSource.CLOSED) live.textContent = "Live updates stopped: reload the page to see new requests.";
  };
})();
