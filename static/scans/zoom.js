// A small zoom/pan for scan images: wheel or +/- to zoom, drag to pan, "Fit" to reset.
// Delegated from the document so it keeps working after htmx swaps the frame viewer.
(function () {
  "use strict";
  const MIN = 1, MAX = 8;

  function state(viewer) {
    return { scale: Number(viewer.dataset.scale || 1), x: Number(viewer.dataset.x || 0), y: Number(viewer.dataset.y || 0) };
  }
  function apply(viewer, s) {
    s.scale = Math.min(MAX, Math.max(MIN, s.scale));
    if (s.scale === 1) { s.x = 0; s.y = 0; }
    viewer.dataset.scale = s.scale; viewer.dataset.x = s.x; viewer.dataset.y = s.y;
    const img = viewer.querySelector("[data-zoom-image]");
    if (img) img.style.transform = "translate(" + s.x + "px," + s.y + "px) scale(" + s.scale + ")";
    viewer.classList.toggle("is-zoomed", s.scale > 1);
  }
  function zoom(viewer, factor) { const s = state(viewer); s.scale *= factor; apply(viewer, s); }

  document.addEventListener("click", function (event) {
    const viewer = event.target.closest("[data-zoom]");
    if (!viewer) return;
    if (event.target.closest("[data-zoom-in]")) zoom(viewer, 1.25);
    else if (event.target.closest("[data-zoom-out]")) zoom(viewer, 0.8);
    else if (event.target.closest("[data-zoom-reset]")) apply(viewer, { scale: 1, x: 0, y: 0 });
  });
  document.addEventListener("wheel", function (event) {
    const stage = event.target.closest(".zoom-stage");
    if (!stage) return;
    event.preventDefault();
    zoom(stage.closest("[data-zoom]"), event.deltaY < 0 ? 1.15 : 1 / 1.15);
  }, { passive: false });
  let drag = null;
  document.addEventListener("pointerdown", function (event) {
    const stage = event.target.closest(".zoom-stage");
    if (!stage) return;
    const viewer = stage.closest("[data-zoom]");
    const s = state(viewer);
    if (s.scale <= 1) return;
    drag = { viewer: viewer, startX: event.clientX - s.x, startY: event.clientY - s.y };
  });
  document.addEventListener("pointermove", function (event) {
    if (!drag) return;
    const s = state(drag.viewer);
    s.x = event.clientX - drag.startX; s.y = event.clientY - drag.startY;
    apply(drag.viewer, s);
  });
  document.addEventListener("pointerup", function () { drag = null; });
})();
