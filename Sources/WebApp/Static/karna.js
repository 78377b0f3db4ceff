// Kärna's clinician app: the little script it needs. Everything works without it; it only adds
// the session timer, so a user learns that the session ended instead of losing what they type next.
(function () {
  "use strict";
  var seconds = parseInt(document.body.getAttribute("data-session-seconds") || "0", 10);
  if (seconds > 0) {
    var timer;
    var restart = function () {
      clearTimeout(timer);
      timer = setTimeout(function () { window.location.assign("/login?orsak=timeout"); }, seconds * 1000);
    };
    // Only server round trips keep the session alive; the timer restarts with each page.
    restart();
  }
  // A print button (the receipt): no inline handlers, so the Content-Security-Policy can forbid them.
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) { window.print(); }
  });
  // A form asks once more before an action that cannot be undone.
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
})();
