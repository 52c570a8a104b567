// Review screen keyboard shortcuts: A approve, C correct (to the chosen label), U ungradable, N next
// (H, the heatmap, is heatmap.js's).
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
    const key = event.key.toLowerCase();
    const element = document.querySelector('[data-shortcut="' + key + '"]');
    if (!element) return;
    event.preventDefault();
    if (key === "c") {
      const select = document.querySelector("[data-review-form] select[name=label]");
      if (select && !select.value) { select.focus(); return; }
    }
    element.click();
  });
})();
