// Drag and drop on the upload page: files, archives or whole folders dropped anywhere on the page are sent
// with the page's own upload form (its CSRF token; a folder's files keep their paths, as the folder input
// sends them), and the answer (which programs were found) replaces the page.  Without scripts, or in a
// browser without these APIs, the form's file inputs do the same.
(function () {
  "use strict";
  var form = document.getElementById("upload");
  if (!form || !window.FormData || !window.fetch) { return; }
  var hint = document.getElementById("drop-hint");
  if (hint) { hint.hidden = false; }
  var depth = 0;

  function readAll(reader, out) {
    // a folder's entries come in pieces: read until an empty piece
    return new Promise(function (resolve, reject) {
      function next() {
        reader.readEntries(function (entries) {
          if (!entries.length) { resolve(out); return; }
          out.push.apply(out, entries);
          next();
        }, reject);
      }
      next();
    });
  }

  function walk(entry, path, found) {
    if (entry.isFile) {
      return new Promise(function (resolve, reject) {
        entry.file(function (file) { found.push({file: file, path: path + file.name}); resolve(); }, reject);
      });
    }
    return readAll(entry.createReader(), []).then(function (entries) {
      return Promise.all(entries.map(function (e) { return walk(e, path + entry.name + "/", found); }));
    });
  }

  function collect(dt) {
    var found = [];
    var waits = [];
    var items = dt.items ? Array.prototype.slice.call(dt.items) : [];
    items.forEach(function (item) {
      if (item.kind !== "file") { return; }
      var entry = item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
      if (entry && entry.isDirectory) {
        waits.push(walk(entry, "", found));
      } else {
        var file = item.getAsFile();
        if (file) { found.push({file: file, path: file.name}); }
      }
    });
    if (!items.length && dt.files) {
      Array.prototype.forEach.call(dt.files, function (f) { found.push({file: f, path: f.name}); });
    }
    return Promise.all(waits).then(function () { return found; });
  }

  function send(found) {
    if (!found.length) { return; }
    var body = new FormData();
    body.append("csrf", form.elements.csrf.value);
    found.forEach(function (f) {
      // a path with a folder in it goes as the folder input sends it; a loose file as the file input
      body.append(f.path.indexOf("/") >= 0 ? "folder" : "files", f.file, f.path);
    });
    document.body.classList.add("sending");
    window.fetch(form.action, {method: "POST", body: body, credentials: "same-origin"})
      .then(function (response) { return response.text(); })
      .then(function (html) {
        document.open();
        document.write(html);
        document.close();
      });
  }

  document.addEventListener("dragenter", function (event) {
    event.preventDefault();
    depth += 1;
    document.body.classList.add("dragging");
  });
  document.addEventListener("dragleave", function () {
    depth = Math.max(0, depth - 1);
    if (!depth) { document.body.classList.remove("dragging"); }
  });
  document.addEventListener("dragover", function (event) { event.preventDefault(); });
  document.addEventListener("drop", function (event) {
    event.preventDefault();
    depth = 0;
    document.body.classList.remove("dragging");
    collect(event.dataTransfer).then(send);
  });
}());
