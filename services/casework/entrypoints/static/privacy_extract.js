// 仮名加工データの作成: one submission only (city scale takes about a minute), and say that it is running.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("extract-form");
  if (!form) return;
  form.addEventListener("submit", (event) => {
    const button = form.querySelector("button[type=submit]");
    if (form.dataset.sent === "1") { event.preventDefault(); return; }
    form.dataset.sent = "1";
    if (button) { button.disabled = true; button.textContent = "作成中…（画面を閉じずにお待ちください）"; }
  });
});
