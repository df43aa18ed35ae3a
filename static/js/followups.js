/* Follow-up pages (R3). Loaded from 'self' (the Content-Security-Policy forbids inline scripts). */
(function () {
  "use strict";
  // <button data-print>: print the page (print styles in app.css hide navigation and buttons).
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-print]");
    if (button) {
      event.preventDefault();
      window.print();
    }
  });
})();
