// llm-traced serve: keyboard, live rows, copy, search progress. No
// dependencies; everything inserted comes from the server, already escaped.
(function () {
  "use strict";

  // Keyboard: j/k move, Enter opens, / searches, Esc goes back.
  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-href]"));
  }
  var cursor = -1;
  function mark(i) {
    var all = rows();
    if (all.length === 0) return;
    i = Math.max(0, Math.min(all.length - 1, i));
    all.forEach(function (r) { r.classList.remove("cursor"); });
    all[i].classList.add("cursor");
    all[i].scrollIntoView({ block: "nearest" });
    cursor = i;
  }
  (function () {
    var all = rows();
    for (var i = 0; i < all.length; i++) {
      if (all[i].classList.contains("selected")) { mark(i); break; }
    }
  })();
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var t = ev.target;
    var typing = t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA");
    if (ev.key === "Escape") {
      if (typing) { t.blur(); return; }
      ev.preventDefault();
      if (history.length > 1) history.back(); else location.href = "/";
      return;
    }
    if (typing) return;
    if (ev.key === "j") { ev.preventDefault(); mark(cursor + 1); }
    else if (ev.key === "k") { ev.preventDefault(); mark(cursor < 0 ? 0 : cursor - 1); }
    else if (ev.key === "Enter") {
      var all = rows();
      if (cursor >= 0 && all[cursor]) { ev.preventDefault(); location.href = all[cursor].dataset.href; }
    } else if (ev.key === "/") {
      var s = document.getElementById("search");
      if (s) { ev.preventDefault(); s.focus(); s.select(); }
    }
  });
  document.addEventListener("click", function (ev) {
    var t = ev.target;
    if (t.closest("a, button, input, select, label, summary, pre")) return;
    var row = t.closest("[data-href]");
    if (row) location.href = row.dataset.href;
  });

  // Copy buttons.
  document.querySelectorAll("button[data-copy]").forEach(function (b) {
    b.addEventListener("click", function () {
      var el = document.getElementById(b.dataset.copy);
      if (!el) return;
      var text = el.textContent;
      var done = function () { b.textContent = "Copied"; setTimeout(function () { b.textContent = "Copy"; }, 1500); };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(done, function () { fallback(el); done(); });
      } else { fallback(el); done(); }
    });
  });
  function fallback(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    try { document.execCommand("copy"); } catch (e) { /* selected: copy by hand */ }
  }

  // Search progress while the server reads the bodies.
  var form = document.getElementById("filters");
  var search = document.getElementById("search");
  var progress = document.getElementById("search-progress");
  if (form) {
    // Only the filters that are set go into the URL.
    form.addEventListener("submit", function () {
      Array.prototype.forEach.call(form.elements, function (el) {
        if (el.name && !el.value) el.disabled = true;
      });
    });
    window.addEventListener("pageshow", function () {
      Array.prototype.forEach.call(form.elements, function (el) { el.disabled = false; });
    });
  }
  if (form && search && progress) {
    form.addEventListener("submit", function () {
      if (!search.value.trim()) return;
      progress.hidden = false;
      progress.textContent = "searching…";
      var poll = function () {
        fetch("/api/search-progress", { credentials: "same-origin" })
          .then(function (r) { return r.json(); })
          .then(function (p) {
            if (p.total > 0 && p.running) {
              progress.textContent = "searching… " + Math.floor(100 * p.done / p.total) + "% of " + p.total + " calls";
            } else if (p.total > 0 && p.query === search.value.trim()) {
              progress.textContent = "searched " + p.total + " calls, loading the results…";
            }
            setTimeout(poll, 200);
          }, function () { setTimeout(poll, 500); });
      };
      setTimeout(poll, 100);
    });
  }

  // Live rows.
  var table = document.getElementById("calls");
  if (table && table.dataset.live && window.EventSource) {
    var body = table.tBodies[0];
    var pause = document.getElementById("pause");
    var state = document.getElementById("live-state");
    var count = document.getElementById("count");
    var held = [];
    var source = new EventSource(table.dataset.live);
    var show = function (tr) {
      var id = tr.dataset.id;
      var old = body.querySelector('tr[data-id="' + (window.CSS && CSS.escape ? CSS.escape(id) : id) + '"]');
      if (old) { old.replaceWith(tr); return; }
      body.insertBefore(tr, body.firstChild);
      tr.classList.add("new");
      if (count) {
        var n = parseInt(count.dataset.total || "0", 10) + 1;
        count.dataset.total = String(n);
        count.textContent = n.toLocaleString("en-US") + (n === 1 ? " call" : " calls");
      }
      var empty = document.querySelector("p.empty");
      if (empty) empty.remove();
    };
    source.addEventListener("call", function (ev) {
      var t = document.createElement("template");
      t.innerHTML = ev.data;
      var tr = t.content.firstElementChild;
      if (!tr) return;
      if (pause && pause.checked) {
        held.push(tr);
        if (state) state.textContent = held.length + " new (paused)";
      } else {
        show(tr);
      }
    });
    // A call whose scores changed: its row again, if it is shown.
    source.addEventListener("scores", function (ev) {
      var t = document.createElement("template");
      t.innerHTML = ev.data;
      var tr = t.content.firstElementChild;
      if (!tr) return;
      var id = tr.dataset.id;
      var old = body.querySelector('tr[data-id="' + (window.CSS && CSS.escape ? CSS.escape(id) : id) + '"]');
      if (old) old.replaceWith(tr);
    });
    source.addEventListener("reload", function () {
      if (state) state.textContent = "many new calls: reload to see them all";
    });
    source.addEventListener("open", function () {
      if (state && !(pause && pause.checked)) state.textContent = "live";
    });
    source.addEventListener("error", function () {
      if (state) state.textContent = "live updates interrupted";
    });
    if (pause) pause.addEventListener("change", function () {
      if (!pause.checked) {
        held.reverse().forEach(function (tr) { show(tr); });
        held = [];
        if (state) state.textContent = "live";
      } else if (state) {
        state.textContent = "paused";
      }
    });
  }
})();
