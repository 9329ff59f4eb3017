/* The EPCI map: one Vega-Lite spec per indicator (assets/specs.js), the features and yearly values of assets/carte-data.js. */
(function () {
  "use strict";
  var D = window.MAP_DATA;
  var layerSelect = document.getElementById("couche");
  var yearSelect = document.getElementById("annee");
  var message = document.getElementById("map-message");
  var el = document.getElementById("map");
  var pct = new Intl.NumberFormat("fr-FR", { style: "percent", maximumFractionDigits: 1 });
  var num = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 1 });

  function features(layer, year) {
    var values = D.layers[layer][year];
    return D.features.map(function (f, i) {
      var v = values ? values[i] : [null, null, null, 0, "pas de données CAF cette année"];
      var tip, detail = v[4] || "";
      if (v[0] === null) tip = layer === "caf" ? "–" : "aucun établissement";
      else if (layer === "caf") tip = num.format(v[0]) + " places pour 100 enfants";
      else tip = pct.format(v[0]) + " (" + v[1] + " sur " + v[2] + " établissements)";
      return { type: "Feature", geometry: f.g, properties: { c: f.c, nom: f.n, z: f.z, v: v[0], s: v[3], tip: tip, detail: detail } };
    });
  }

  function draw() {
    var layer = layerSelect.value, year = yearSelect.value;
    var missing = layer === "caf" && !D.layers.caf[year];
    message.hidden = !missing;
    message.textContent = missing ? "Pas de données CAF pour " + year + " : la couverture CAF n'est publiée que pour " +
      Object.keys(D.layers.caf).join(", ") + ". La carte est grise." : "";
    el.dataset.drawn = "";
    var byZone = {};
    features(layer, year).forEach(function (f) { (byZone["epci_" + f.properties.z] = byZone["epci_" + f.properties.z] || []).push(f); });
    var spec = window.SITE.withData("map_" + layer, byZone);
    vegaEmbed(el, spec, window.SITE.options).then(function (res) {
      res.view.addEventListener("click", function (event, item) {
        if (item && item.datum && item.datum.properties) window.location.href = "epci/" + item.datum.properties.c + ".html";
      });
      el.dataset.drawn = layer + ":" + year;
    }).catch(function (err) { console.error("map: " + err); });
  }
  layerSelect.addEventListener("change", draw);
  yearSelect.addEventListener("change", draw);
  draw();
})();
