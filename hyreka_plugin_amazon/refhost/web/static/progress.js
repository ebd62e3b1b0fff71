// Live progress of a running sync: asks the console for the state every half second and
// reloads the page when the sync has ended (the page then shows the result).
(function () {
  "use strict";
  var box = document.getElementById("sync-progress");
  if (!box) { return; }
  var url = box.getAttribute("data-status");
  function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        if (!state.running) { window.location.reload(); return; }
        document.getElementById("sync-phase").textContent = state.phase_label;
        document.getElementById("sync-message").textContent = state.message;
        document.getElementById("sync-bar").value = state.percent;
        window.setTimeout(poll, 500);
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 300);
})();
