// Grad-CAM heatmap over the scan (templates/scans/partials/heatmap_viewer.html): a show/hide button, also the
// H key anywhere on the page, and an opacity slider. Delegated from the document so it keeps working after
// htmx swaps the frame viewer or the AI panel.
(function () {
  "use strict";

  function shown(viewer) {
    return viewer.querySelector("[data-heatmap-toggle]").getAttribute("aria-pressed") === "true";
  }
  function show(viewer, on) {
    const button = viewer.querySelector("[data-heatmap-toggle]");
    if (!button) return;
    button.setAttribute("aria-pressed", on ? "true" : "false");
    viewer.querySelectorAll("[data-heatmap-layer]").forEach(function (layer) { layer.hidden = !on; });
  }
  function opacity(viewer, slider) {
    const percent = Number(slider.value);
    viewer.querySelectorAll("[data-heatmap-layer]").forEach(function (layer) { layer.style.opacity = percent / 100; });
    slider.setAttribute("aria-valuetext", percent + "%");
    const output = viewer.querySelector("[data-heatmap-opacity-value]");
    if (output) output.textContent = percent + "%";
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-heatmap-toggle]");
    if (!button) return;
    const viewer = button.closest("[data-heatmap]");
    show(viewer, !shown(viewer));
  });
  document.addEventListener("input", function (event) {
    const slider = event.target.closest("[data-heatmap-opacity]");
    if (!slider) return;
    const viewer = slider.closest("[data-heatmap]");
    opacity(viewer, slider);
    show(viewer, true); // moving the slider means the doctor wants to see the map
  });
  // H toggles the heatmap unless the doctor is typing (a note, a label); on the slider it still toggles.
  const TYPING = "textarea, select, [contenteditable], input:not([type=range]):not([type=checkbox]):not([type=radio])";
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.key.toLowerCase() !== "h") return;
    if (event.target.closest && event.target.closest(TYPING)) return;
    const button = document.querySelector("[data-heatmap-toggle]");
    if (!button) return;
    event.preventDefault();
    const viewer = button.closest("[data-heatmap]");
    show(viewer, !shown(viewer));
  });
  // The scan page: when the AI panel turns "classified" the frame viewer has no heatmap yet; fetch it once.
  document.addEventListener("htmx:afterSettle", function (event) {
    const panel = event.target;
    const frames = document.getElementById("frame-viewer");
    if (!panel || panel.id !== "ai-status" || panel.dataset.aiStatus !== "classified" || !frames || !window.htmx) return;
    if (frames.querySelector("[data-heatmap-toggle]") || frames.dataset.heatmapFetched) return;
    frames.dataset.heatmapFetched = "1";
    window.htmx.ajax("GET", window.location.href, { target: "#frame-viewer", swap: "innerHTML" });
  });
})();
