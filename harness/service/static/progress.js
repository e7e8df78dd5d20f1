// Live progress on the waiting page: the submission's Server-Sent Events update the counts (as text);
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
    if (st.state === "done" || st.state === "failed") {
      source.close();
      window.location.reload();
    }
  });
}());
