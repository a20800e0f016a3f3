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

// Coding a span: a selection in the passage text fills in its character offsets.
(function () {
  var box = document.getElementById("passage-text");
  var start = document.getElementById("span-start"), end = document.getElementById("span-end");
  var preview = document.getElementById("span-preview");
  if (!box || !start || !end) return;
  function offset(node, off) {
    var r = document.createRange();
    r.selectNodeContents(box);
    r.setEnd(node, off);
    return r.toString().length;
  }
  document.addEventListener("selectionchange", function () {
    var sel = window.getSelection();
    if (!sel.rangeCount || sel.isCollapsed) return;
    var range = sel.getRangeAt(0);
    if (!box.contains(range.startContainer) || !box.contains(range.endContainer)) return;
    var a = offset(range.startContainer, range.startOffset), b = offset(range.endContainer, range.endOffset);
    if (b <= a) return;
    start.value = a; end.value = b;
    if (preview) preview.textContent = "”" + box.textContent.slice(a, b) + "”";
  });
})();
