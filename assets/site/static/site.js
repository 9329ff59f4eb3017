/* Charts of every page and the search box. Everything it needs is already in the page (no fetch: file:// forbids it). */
(function () {
  "use strict";
  var S = window.SITE_SPECS;
  var root = document.body.dataset.root || "";
  var options = { renderer: "svg", actions: false, formatLocale: S.locale.format, timeFormatLocale: S.locale.time };

  function withData(name, datasets) {
    var spec = JSON.parse(JSON.stringify(S.specs[name]));
    spec.datasets = Object.assign({}, spec.datasets || {}, datasets);
    return spec;
  }
  window.SITE = { options: options, withData: withData };

  var data = window.PAGE_DATA || {};
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var rows = data[el.dataset.rows];
    if (!rows || !rows.length) {
      el.innerHTML = '<p class="empty">Pas de données pour ce graphique.</p>';
      return;
    }
    vegaEmbed(el, withData(el.dataset.chart, { rows: rows }), options)
      .then(function () { el.dataset.drawn = "true"; })
      .catch(function (err) { console.error("chart " + el.id + ": " + err); });
  });

  // Search: EPCI by name or SIREN (former EPCIs lead to their successor), départements, régions.
  var input = document.getElementById("search");
  var list = document.getElementById("search-results");
  if (!input || !list) return;
  function norm(s) { return (s || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase(); }
  var index = (window.SEARCH_INDEX || []).map(function (r) { return { code: r[0], name: r[1], url: r[2], kind: r[3], key: norm(r[1]) }; });
  function hits(q) {
    q = norm(q.trim());
    if (q.length < 2) return [];
    var out = [];
    for (var i = 0; i < index.length && out.length < 15; i++) {
      var r = index[i];
      if (r.key.indexOf(q) !== -1 || r.code.toLowerCase().indexOf(q) === 0) out.push(r);
    }
    return out;
  }
  input.addEventListener("input", function () {
    var found = hits(input.value);
    list.innerHTML = "";
    found.forEach(function (r) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = root + r.url;
      a.textContent = r.name + " ";
      var small = document.createElement("small");
      small.textContent = r.kind + " · " + r.code;
      a.appendChild(small);
      li.appendChild(a);
      list.appendChild(li);
    });
    list.hidden = found.length === 0;
  });
  input.form.addEventListener("submit", function (e) {
    e.preventDefault();
    var first = hits(input.value)[0];
    if (first) window.location.href = root + first.url;
  });
})();
