// Review screen keyboard shortcuts: A approve, C correct (to the chosen label), U ungradable, H heatmap, N next.
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
    const key = event.key.toLowerCase();
    if (key === "h") {
      const toggle = document.querySelector("[data-heatmap-toggle]");
      if (toggle) { toggle.click(); event.preventDefault(); }
      return;
    }
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
