// Upload each chosen file in its own request so every file gets a progress share and its own result.
// Without JavaScript the form still posts all files at once and the page lists the results.
// Required fields are checked here first and their errors shown beside them, the chosen files kept: a form the
// server would refuse is never sent (the server checks again; its field errors land beside the fields too).
(function () {
  "use strict";
  const form = document.getElementById("scan-upload-form");
  if (!form || !window.FormData || !window.XMLHttpRequest) return;
  const input = form.querySelector('input[type="file"][name="files"]');
  const bar = document.getElementById("upload-progress");
  const label = document.getElementById("upload-progress-label");
  const results = document.getElementById("upload-results");
  const submit = document.getElementById("upload-submit");
  const MESSAGES = {
    eye: "Choose the eye: right (OD) or left (OS).",
    acquired_on: "Enter the acquisition date.",
    files: "Choose at least one file.",
  };

  function controls(name) {
    return Array.from(form.querySelectorAll('[name="' + name + '"]'));
  }

  function fieldError(name, message) {
    const slot = form.querySelector('[data-field-error="' + name + '"]');
    if (!slot) return false;
    slot.textContent = message || "";
    slot.hidden = !message;
    controls(name).forEach(function (el) {
      if (message) el.setAttribute("aria-invalid", "true");
      else el.removeAttribute("aria-invalid");
    });
    return true;
  }

  function filled(name) {
    return controls(name).some(function (el) {
      if (el.type === "radio" || el.type === "checkbox") return el.checked;
      if (el.type === "file") return el.files && el.files.length > 0;
      return el.value.trim() !== "";
    });
  }

  // Returns the first control with an error, or null when the form may be sent.
  function validate() {
    let first = null;
    const names = Array.from(form.querySelectorAll(".upload-field[data-required]")).map(function (f) {
      return f.dataset.field;
    });
    names.push("files");
    names.forEach(function (name) {
      const missing = !filled(name);
      fieldError(name, missing ? MESSAGES[name] || "This field is required." : "");
      if (missing && !first) first = controls(name)[0] || null;
    });
    return first;
  }

  form.addEventListener("change", function (event) {
    const name = event.target && event.target.name;
    if (name && filled(name)) fieldError(name, "");
  });

  // A 400 from the server: the form itself was refused (nothing stored). Field errors go beside their fields.
  function showFormErrors(html) {
    const holder = document.createElement("ul");
    holder.innerHTML = html;
    Array.from(holder.children).forEach(function (li) {
      const name = li.dataset.field;
      const text = li.textContent.replace(/^[^:]*:\s*/, "");
      if (!(name && fieldError(name, text))) results.appendChild(li);
    });
  }

  function sendOne(file, loadedBefore, totalBytes) {
    return new Promise(function (resolve) {
      const data = new FormData(form);
      data.delete("files");
      data.append("files", file, file.name);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("HX-Request", "true");
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) {
          const done = loadedBefore + Math.min(event.loaded, file.size);
          bar.value = totalBytes ? Math.round((100 * done) / totalBytes) : 100;
        }
      });
      xhr.addEventListener("load", function () {
        if (xhr.status === 400 && /data-field=/.test(xhr.responseText)) {
          showFormErrors(xhr.responseText);
          resolve("form-refused");
          return;
        }
        results.insertAdjacentHTML("beforeend", xhr.responseText);
        resolve("processed");
      });
      xhr.addEventListener("error", function () {
        const li = document.createElement("li");
        li.className = "upload-result result-refused";
        li.dataset.status = "refused";
        li.textContent = file.name + ": the upload was interrupted (network error); nothing was stored";
        results.appendChild(li);
        resolve("processed");
      });
      xhr.send(data);
    });
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const invalid = validate();
    if (invalid) {
      label.hidden = false;
      label.textContent = "Nothing was uploaded: complete the marked fields.";
      invalid.focus();
      return;
    }
    const files = Array.from(input.files || []);
    submit.disabled = true;
    submit.setAttribute("aria-busy", "true");
    bar.hidden = false;
    label.hidden = false;
    bar.value = 0;
    const totalBytes = files.reduce(function (sum, f) { return sum + f.size; }, 0);
    let loaded = 0;
    let refused = false;
    for (let i = 0; i < files.length; i++) {
      label.textContent = "Uploading file " + (i + 1) + " of " + files.length + "…";
      if ((await sendOne(files[i], loaded, totalBytes)) === "form-refused") {
        refused = true;
        break;
      }
      loaded += files[i].size;
      bar.value = totalBytes ? Math.round((100 * loaded) / totalBytes) : 100;
    }
    submit.disabled = false;
    submit.removeAttribute("aria-busy");
    if (refused) {
      bar.hidden = true;
      bar.value = 0;
      label.textContent = "Nothing was uploaded: correct the marked fields; your files are still chosen.";
    } else {
      label.textContent = "Done: " + files.length + " file(s) processed.";
      bar.value = 100;
      input.value = "";
      form.dataset.done = String(Number(form.dataset.done || 0) + 1);
    }
  });
})();
