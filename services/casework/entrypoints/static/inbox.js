// Live inbox: new alerts arrive over Server-Sent Events and are added at the top of the table.
// Every value is set with textContent, never as HTML.
(function () {
  "use strict";
  var status = document.getElementById("live-status");
  var tbody = document.getElementById("alert-rows");
  var count = document.getElementById("alert-count");
  if (!status || !tbody || status.getAttribute("data-live") !== "on" || !window.EventSource) {
    return;
  }
  var tiers = ["重点", "予防", "見守り"];

  function cell(row, text) {
    var td = document.createElement("td");
    if (text !== undefined) {
      td.textContent = text;
    }
    row.appendChild(td);
    return td;
  }

  function formatTime(iso) {
    var d = new Date(iso);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    // Shown in Japan time like the server-rendered rows.
    var jst = new Date(d.getTime() + (9 * 60 + d.getTimezoneOffset()) * 60000);
    return jst.getFullYear() + "-" + pad(jst.getMonth() + 1) + "-" + pad(jst.getDate()) + " " +
      pad(jst.getHours()) + ":" + pad(jst.getMinutes());
  }

  function addAlert(a) {
    if (document.querySelector('tr[data-alert-id="' + CSS.escape(a.alert_id) + '"]')) {
      return;
    }
    var empty = tbody.querySelector("tr.empty");
    if (empty) {
      empty.remove();
    }
    var tr = document.createElement("tr");
    tr.setAttribute("data-alert-id", a.alert_id);
    tr.className = "new";
    cell(tr, formatTime(a.raised_at));
    var nameCell = cell(tr);
    var link = document.createElement("a");
    link.href = "/children/" + encodeURIComponent(a.child_id);
    link.textContent = a.name_kanji || "（氏名未連携）";
    nameCell.appendChild(link);
    if (a.name_kana) {
      nameCell.appendChild(document.createElement("br"));
      var kana = document.createElement("span");
      kana.className = "kana";
      kana.textContent = a.name_kana;
      nameCell.appendChild(kana);
    }
    cell(tr, a.age === null || a.age === undefined ? "—" : String(a.age));
    var tierCell = cell(tr);
    if (a.tier) {
      var tier = document.createElement("span");
      var idx = tiers.indexOf(a.tier);
      tier.className = "tier tier--" + (idx < 0 ? 9 : idx);
      tier.textContent = a.tier;
      tierCell.appendChild(tier);
    } else {
      tierCell.textContent = "—";
    }
    var itemsCell = cell(tr);
    var ul = document.createElement("ul");
    ul.className = "items";
    (a.item_labels || []).forEach(function (label) {
      var li = document.createElement("li");
      li.textContent = label;
      ul.appendChild(li);
    });
    itemsCell.appendChild(ul);
    var signalLabels = a.signal_labels || [];
    if (signalLabels.length) {
      var signals = document.createElement("p");
      signals.className = "signals";
      signalLabels.forEach(function (label) {
        var chip = document.createElement("span");
        chip.className = "chip chip--signal";
        chip.textContent = label;
        signals.appendChild(chip);
      });
      itemsCell.appendChild(signals);
    }
    var statusCell = cell(tr);
    var st = document.createElement("span");
    st.className = "status";
    st.textContent = a.status;
    statusCell.appendChild(st);
    cell(tr, a.lead_division || "—");
    tbody.insertBefore(tr, tbody.firstChild);
    count.textContent = String(tbody.querySelectorAll("tr[data-alert-id]").length);
    status.textContent = "新しいアラートが届きました（" + formatTime(a.raised_at) + "）";
  }

  var source = new EventSource("/api/alerts/stream");
  source.addEventListener("alert", function (event) {
    try {
      addAlert(JSON.parse(event.data));
    } catch (e) {
      // A malformed event must not stop the live inbox.
    }
  });
  source.addEventListener("open", function () {
    status.setAttribute("data-connected", "yes");
  });
  source.addEventListener("error", function () {
    status.setAttribute("data-connected", "no");
  });
})();
