// patchline: pan, zoom and live search on the hierarchy graph (svg#graph). Own code, no
// libraries. The page works without it: the graph is server-rendered, the search box is a
// plain GET form, and the table below lists the same nodes.
(function () {
  "use strict";
  function ready(f) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", f);
    else f();
  }
  ready(function () {
    var svg = document.getElementById("graph");
    if (!svg) return;
    var box = svg.parentElement;
    var full = svg.viewBox.baseVal;
    var home = { x: full.x, y: full.y, w: full.width, h: full.height };
    var v = { x: home.x, y: home.y, w: home.w, h: home.h };
    function apply() { svg.setAttribute("viewBox", v.x + " " + v.y + " " + v.w + " " + v.h); }
    function zoom(f, cx, cy) {
      var w = v.w / f, h = v.h / f;
      if (w < 50 || w > home.w * 20) return;
      if (cx === undefined) { cx = v.x + v.w / 2; cy = v.y + v.h / 2; }
      v.x = cx - (cx - v.x) / f; v.y = cy - (cy - v.y) / f; v.w = w; v.h = h;
      apply();
    }
    function pan(dx, dy) { v.x += dx; v.y += dy; apply(); }
    function reset() { v = { x: home.x, y: home.y, w: home.w, h: home.h }; apply(); }
    function toSvg(ev) {
      var r = svg.getBoundingClientRect();
      return { x: v.x + (ev.clientX - r.left) / r.width * v.w, y: v.y + (ev.clientY - r.top) / r.height * v.h };
    }
    svg.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      var p = toSvg(ev);
      zoom(ev.deltaY < 0 ? 1.2 : 1 / 1.2, p.x, p.y);
    }, { passive: false });
    var drag = null, moved = false;
    svg.addEventListener("pointerdown", function (ev) {
      if (ev.button !== 0) return;
      drag = { x: ev.clientX, y: ev.clientY }; moved = false;
    });
    window.addEventListener("pointermove", function (ev) {
      if (!drag) return;
      var r = svg.getBoundingClientRect();
      var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
      if (!moved && Math.abs(dx) + Math.abs(dy) < 4) return;
      if (!moved) svg.classList.add("dragging");
      moved = true;
      pan(-dx / r.width * v.w, -dy / r.height * v.h);
      drag = { x: ev.clientX, y: ev.clientY };
    });
    window.addEventListener("pointerup", function () { drag = null; svg.classList.remove("dragging"); });
    // A drag that ends on a node must not open it.
    svg.addEventListener("click", function (ev) { if (moved) { ev.preventDefault(); moved = false; } }, true);
    box.addEventListener("keydown", function (ev) {
      if (ev.target.tagName === "INPUT") return;
      var step = v.w / 10;
      switch (ev.key) {
        case "+": case "=": zoom(1.25); break;
        case "-": case "_": zoom(1 / 1.25); break;
        case "0": reset(); break;
        case "ArrowLeft": pan(-step, 0); break;
        case "ArrowRight": pan(step, 0); break;
        case "ArrowUp": pan(0, -step); break;
        case "ArrowDown": pan(0, step); break;
        default: return;
      }
      ev.preventDefault();
    });
    document.querySelectorAll("[data-zoom]").forEach(function (b) {
      b.addEventListener("click", function () {
        var z = b.getAttribute("data-zoom");
        if (z === "in") zoom(1.25); else if (z === "out") zoom(1 / 1.25); else reset();
      });
    });
    var q = document.getElementById("graph-q");
    if (q) {
      var nodes = svg.querySelectorAll(".node");
      var rows = document.querySelectorAll("tr[data-ref]");
      var first = null;
      var search = function () {
        var s = q.value.trim().toLowerCase();
        first = null;
        nodes.forEach(function (n) {
          var hit = s !== "" && (n.getAttribute("data-ref") || "").toLowerCase().indexOf(s) >= 0;
          n.classList.toggle("hit", hit);
          n.classList.toggle("dim", s !== "" && !hit);
          if (hit && !first) first = n;
        });
        rows.forEach(function (r) {
          var hit = s !== "" && (r.getAttribute("data-ref") || "").toLowerCase().indexOf(s) >= 0;
          r.classList.toggle("hit", hit);
        });
        var status = document.getElementById("graph-status");
        if (status) {
          var n = svg.querySelectorAll(".node.hit").length;
          status.textContent = s === "" ? "" : n + " matching";
        }
      };
      q.addEventListener("input", search);
      q.form && q.form.addEventListener("submit", function (ev) {
        // With the script, the search is live; Enter centres on the first match.
        ev.preventDefault();
        search();
        if (first) {
          var b = first.getBBox();
          v.x = b.x + b.width / 2 - v.w / 2; v.y = b.y + b.height / 2 - v.h / 2; apply();
          first.focus();
        }
      });
    }
  });
})();
