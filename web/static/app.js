// Small enhancements; every page works without them.
(function () {
  // Document view: bring the hit to the middle of the screen, not the top edge.
  var hit = document.querySelector(".in-hit");
  if (hit) hit.scrollIntoView({ block: "center" });

  // Page images load when their "Sidbild" is opened.
  document.querySelectorAll("details.page-image").forEach(function (d) {
    d.addEventListener("toggle", function () {
      var img = d.querySelector("img[data-src]");
      if (d.open && img) { img.src = img.getAttribute("data-src"); img.removeAttribute("data-src"); }
    });
  });

  // Search form: a new search mode runs the search at once.
  document.querySelectorAll("form.search input[name=mode]").forEach(function (r) {
    r.addEventListener("change", function () { if (document.getElementById("q").value.trim()) r.form.submit(); });
  });
})();
