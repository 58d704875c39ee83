// tiplens dashboard: the little behaviour the server-rendered pages need.
// Charts are drawn by the shared figure template; this marks them once plotly has laid them out
// (tests and screenshots wait for it) and keeps the reload button from being pressed twice.
(function () {
  "use strict";
  function markWhenDrawn(chart) {
    if (chart.dataset.rendered) { return; }
    if (chart.querySelector(".main-svg") && typeof chart.on === "function") {
      chart.dataset.rendered = "true";
      return;
    }
    window.setTimeout(function () { markWhenDrawn(chart); }, 50);
  }
  document.querySelectorAll(".tl-chart").forEach(markWhenDrawn);
  document.querySelectorAll("form.reload").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button");
      if (button) { button.disabled = true; button.textContent = "Reloading…"; }
    });
  });
})();
