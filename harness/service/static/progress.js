// Live progress on the waiting page: the submission's Server-Sent Events update the counts and add each
// finished check to the list (all as text);
// the page reloads once the submission is done, to show the result.  Without scripts the page refreshes.
(function () {
  "use strict";
  var box = document.getElementById("status");
  if (!box || !window.EventSource) { return; }
  function text(id, value) {
    var el = document.getElementById(id);
    if (el) { el.textContent = value; }
  }
  var source = new window.EventSource(box.getAttribute("data-events"));
  source.addEventListener("status", function (event) {
    var st = JSON.parse(event.data);
    box.setAttribute("data-state", st.state);
    text("state", st.state);
    text("position", st.state === "queued" && st.position ? "#" + st.position : "");
    text("done", String(st.done));
    text("total", st.total === null ? "?" : String(st.total));
    var bar = document.getElementById("bar");
    if (bar) {
      bar.max = st.total || 1;
      bar.value = st.done;
    }
    var list = document.getElementById("checks");
    var checks = st.checks || [];
    if (list) {
      for (var i = list.children.length; i < checks.length; i += 1) {
        var item = document.createElement("li");
        item.className = "verdict-" + checks[i][1];
        var verdict = document.createElement("span");
        verdict.className = "verdict";
        verdict.textContent = checks[i][1];
        var key = document.createElement("code");
        key.textContent = checks[i][0];
        item.appendChild(verdict);
        item.appendChild(document.createTextNode(" "));
        item.appendChild(key);
        list.appendChild(item);
      }
    }
    if (st.state === "done" || st.state === "failed") {
      source.close();
      window.location.reload();
    }
  });
}());
