// Filter the rows of a table as the reader types (the figure table of the site).
// Plain JavaScript, no library and no CDN: works offline and from file://.
// <input data-filter-table="ID"> filters <table id="ID">; every word typed must occur in the
// row's text (case-insensitive); <span data-count-for="ID"> shows "n of N rows".
(function () {
  "use strict";

  function normalise(text) {
    return text.toLowerCase().replace(/\s+/g, " ");
  }

  function attach(input) {
    var table = document.getElementById(input.getAttribute("data-filter-table"));
    if (!table || !table.tBodies.length) {
      return;
    }
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var texts = rows.map(function (row) { return normalise(row.textContent); });
    var counter = document.querySelector(
      '[data-count-for="' + input.getAttribute("data-filter-table") + '"]'
    );
    function apply() {
      var words = normalise(input.value).split(" ").filter(Boolean);
      var shown = 0;
      rows.forEach(function (row, i) {
        var keep = words.every(function (word) { return texts[i].indexOf(word) !== -1; });
        row.hidden = !keep;
        if (keep) {
          shown += 1;
        }
      });
      if (counter) {
        counter.textContent = shown + " of " + rows.length + " rows";
      }
    }
    input.addEventListener("input", apply);
    apply();
  }

  function init() {
    document.querySelectorAll("input[data-filter-table]").forEach(attach);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
