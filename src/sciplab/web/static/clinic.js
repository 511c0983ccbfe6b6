// Progressive enhancement only: every page works without this file.
// "One item per screen" questionnaires: show one fieldset at a time with Next/Back buttons.
(function () {
  "use strict";
  document.querySelectorAll("form.stepper").forEach(function (form) {
    var steps = Array.prototype.slice.call(form.querySelectorAll("[data-step]"));
    if (steps.length < 2) { return; }
    form.classList.add("js");
    var at = 0;
    var nav = document.createElement("div");
    nav.className = "actions";
    var back = document.createElement("button");
    back.type = "button"; back.textContent = "Back"; back.className = "secondary";
    var next = document.createElement("button");
    next.type = "button"; next.textContent = "Next";
    nav.appendChild(back); nav.appendChild(next);
    form.insertBefore(nav, form.querySelector(".actions"));
    function show() {
      steps.forEach(function (s, i) { s.hidden = i !== at; });
      back.disabled = at === 0; next.disabled = at === steps.length - 1;
      var first = steps[at].querySelector("input");
      if (first) { first.focus(); }
    }
    back.addEventListener("click", function () { if (at > 0) { at -= 1; show(); } });
    next.addEventListener("click", function () { if (at < steps.length - 1) { at += 1; show(); } });
    form.addEventListener("change", function (e) {
      if (e.target.type === "radio" && at < steps.length - 1) { at += 1; show(); }
    });
    show();
  });
})();

// A table wider than a phone screen scrolls sideways (clinic.css): make it reachable by keyboard.
(function () {
  "use strict";
  function mark() {
    document.querySelectorAll("table").forEach(function (t) {
      if (t.scrollWidth > t.clientWidth + 1) { t.tabIndex = 0; } else { t.removeAttribute("tabindex"); }
    });
  }
  mark();
  window.addEventListener("resize", mark);
})();
