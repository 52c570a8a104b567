// Upload each chosen file in its own request so every file gets a progress share and its own result.
// Without JavaScript the form still posts all files at once and the page lists the results.
(function () {
  "use strict";
  const form = document.getElementById("scan-upload-form");
  if (!form || !window.FormData || !window.XMLHttpRequest) return;
  const input = form.querySelector('input[type="file"][name="files"]');
  const bar = document.getElementById("upload-progress");
  const label = document.getElementById("upload-progress-label");
  const results = document.getElementById("upload-results");
  const submit = document.getElementById("upload-submit");

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
        results.insertAdjacentHTML("beforeend", xhr.responseText);
        resolve();
      });
      xhr.addEventListener("error", function () {
        const li = document.createElement("li");
        li.className = "upload-result result-refused";
        li.dataset.status = "refused";
        li.textContent = file.name + ": the upload was interrupted (network error); nothing was stored";
        results.appendChild(li);
        resolve();
      });
      xhr.send(data);
    });
  }

  form.addEventListener("submit", async function (event) {
    const files = Array.from(input.files || []);
    if (!files.length) return; // let the server say "Choose at least one file."
    event.preventDefault();
    submit.disabled = true;
    submit.setAttribute("aria-busy", "true");
    bar.hidden = false;
    label.hidden = false;
    bar.value = 0;
    const totalBytes = files.reduce(function (sum, f) { return sum + f.size; }, 0);
    let loaded = 0;
    for (let i = 0; i < files.length; i++) {
      label.textContent = "Uploading file " + (i + 1) + " of " + files.length + "…";
      await sendOne(files[i], loaded, totalBytes);
      loaded += files[i].size;
      bar.value = totalBytes ? Math.round((100 * loaded) / totalBytes) : 100;
    }
    label.textContent = "Done: " + files.length + " file(s) processed.";
    bar.value = 100;
    submit.disabled = false;
    submit.removeAttribute("aria-busy");
    input.value = "";
    form.dataset.done = String(Number(form.dataset.done || 0) + 1);
  });
})();
