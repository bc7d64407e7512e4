// Keyboard shortcuts for the review queue: j/k move the selection, c confirms and
// d dismisses the selected finding, Enter opens it. Without JavaScript every action
// is still a plain form.
(function () {
  "use strict";
  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("tr.finding"));
  }
  var current = -1;
  function select(i) {
    var all = rows();
    if (all.length === 0) return;
    current = Math.max(0, Math.min(all.length - 1, i));
    all.forEach(function (r, j) {
      r.classList.toggle("selected", j === current);
      r.setAttribute("aria-selected", j === current ? "true" : "false");
    });
    all[current].scrollIntoView({ block: "nearest" });
  }
  function submit(action) {
    var all = rows();
    if (current < 0 || current >= all.length) return;
    var form = all[current].querySelector('form[data-action="' + action + '"]');
    if (form) form.submit();
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (rows().length > 0) select(0);
  });
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) return;
    if (e.key === "j") select(current + 1);
    else if (e.key === "k") select(current - 1);
    else if (e.key === "c") submit("confirm");
    else if (e.key === "d") submit("dismiss");
    else if (e.key === "Enter" && current >= 0) {
      var href = rows()[current].getAttribute("data-href");
      if (href) window.location.assign(href);
    } else return;
    e.preventDefault();
  });
})();
