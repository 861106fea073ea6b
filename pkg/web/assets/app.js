// housectl ui: small progressive enhancements; every page works without it.
(function () {
  "use strict";
  // "/" focuses the filter box, as in many tools; Escape leaves it.
  document.addEventListener("keydown", function (e) {
    var box = document.getElementById("filter");
    if (!box) return;
    if (e.key === "/" && document.activeElement !== box && !/^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName)) {
      e.preventDefault();
      box.focus();
      box.select();
    } else if (e.key === "Escape" && document.activeElement === box) {
      box.blur();
    }
  });
  // The compare button says how many runs are ticked, and is off below two.
  // The boxes belong to the form through their form attribute, not by
  // being inside it: form.elements lists them.
  var form = document.getElementById("pick");
  if (form) {
    var button = document.getElementById("compare");
    var update = function () {
      var n = Array.prototype.filter.call(form.elements, function (el) {
        return el.name === "run" && el.checked;
      }).length;
      button.disabled = n < 2;
      button.textContent = n < 2 ? "Compare (tick 2 or more)" : "Compare " + n + " runs";
    };
    document.addEventListener("change", update);
    update();
  }
})();
