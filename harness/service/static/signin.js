// The personal link carries the token after "#" (browsers never send that part): post it at once through
// the sign-in form, and take it out of the address bar and the history first.  Also when the link is
// opened in a tab that shows this page already (only the "#..." changes: no new page load).
(function () {
  "use strict";
  function fromLink() {
    var m = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
    if (!m) { return; }
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
    var form = document.getElementById("signin");
    if (!form) { return; }
    form.elements.token.value = decodeURIComponent(m[1]);
    form.submit();
  }
  window.addEventListener("hashchange", fromLink);
  fromLink();
}());
