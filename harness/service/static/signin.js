// The personal link carries the token after "#" (browsers never send that part): post it at once through
// the sign-in form, and take it out of the address bar and the history first.
(function () {
  "use strict";
  var m = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (!m) { return; }
  window.history.replaceState(null, "", window.location.pathname + window.location.search);
  var form = document.getElementById("signin");
  if (!form) { return; }
  form.elements.token.value = decodeURIComponent(m[1]);
  form.submit();
}());
