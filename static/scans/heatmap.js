// Grad-CAM overlay: a show/hide toggle and an opacity slider. Delegated so it survives htmx swaps.
(function () {
  "use strict";
  function update(viewer) {
    const img = viewer.querySelector("[data-heatmap-image]");
    const shown = viewer.querySelector("[data-heatmap-toggle]").checked;
    img.hidden = !shown;
    img.style.opacity = viewer.querySelector("[data-heatmap-opacity]").value / 100;
  }
  document.addEventListener("input", function (event) {
    const viewer = event.target.closest("[data-heatmap]");
    if (viewer) update(viewer);
  });
})();
