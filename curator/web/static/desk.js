// The desk's only script: keyboard shortcuts, the live note preview and self-submitting filters.
// Every page works without it; this only saves the editor clicks.
(function () {
  "use strict";

  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  function isTyping(el) {
    return !!el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  // ---------------------------------------------------------------- help

  const help = $("#help");
  function showHelp() {
    if (help && !help.open && typeof help.showModal === "function") help.showModal();
  }
  $$("[data-help-open]").forEach((b) => b.addEventListener("click", showHelp));

  // ---------------------------------------------------------------- queue selection

  const rows = $$("[data-row]");
  const storeKey = "curator:selected:" + location.pathname + location.search;
  let selected = -1;

  function remember(i) {
    try { sessionStorage.setItem(storeKey, String(i)); } catch (e) { /* private mode: forget */ }
  }

  function select(i, focus) {
    if (!rows.length) return;
    selected = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach((r, j) => r.classList.toggle("is-selected", j === selected));
    const row = rows[selected];
    const link = $("[data-row-link]", row);
    if (focus && link) link.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
    remember(selected);
  }

  rows.forEach((row, i) => {
    row.addEventListener("focusin", () => {
      if (selected !== i) select(i, false);
    });
  });

  if (rows.length) {
    // Back from a candidate, or after rejecting one, the selection stays where the editor was
    // (after a reject the same index is the next candidate).
    let saved = NaN;
    try { saved = parseInt(sessionStorage.getItem(storeKey) || "", 10); } catch (e) { /* none */ }
    if (!Number.isNaN(saved)) select(saved, true);
  }

  function currentRow() {
    return selected >= 0 ? rows[selected] : null;
  }

  // ---------------------------------------------------------------- several at once

  // Checkboxes pick candidates for the bulk form; with none ticked its buttons act on all shown.
  const bulkForm = $("[data-bulk-form]");
  const boxes = $$("[data-select]");
  const selectAll = $("[data-select-all]");
  const countLabel = $("[data-selected-count]");
  const selectedGroup = $("[data-bulk-selected]");
  const shownGroup = $("[data-bulk-shown]");

  function ticked() {
    return boxes.filter((b) => b.checked);
  }

  function refreshBulk() {
    const n = ticked().length;
    boxes.forEach((b) => {
      const row = b.closest("[data-row]");
      if (row) row.classList.toggle("is-checked", b.checked);
    });
    if (!bulkForm) return;
    if (selectAll) {
      selectAll.checked = n > 0 && n === boxes.length;
      selectAll.indeterminate = n > 0 && n < boxes.length;
    }
    if (countLabel) countLabel.textContent = n ? n + " selected" : "Select all";
    if (selectedGroup) selectedGroup.hidden = n === 0;
    if (shownGroup) shownGroup.hidden = n > 0;
  }

  if (bulkForm) {
    const label = $("[data-select-all-label]");
    if (label) label.hidden = false;
    $$(".bulk__which", bulkForm).forEach((el) => { el.hidden = true; });
    boxes.forEach((b) => b.addEventListener("change", refreshBulk));
    if (selectAll) {
      selectAll.addEventListener("change", () => {
        boxes.forEach((b) => { b.checked = selectAll.checked; });
        refreshBulk();
      });
    }
    refreshBulk();
  }

  function toggleAll() {
    const all = ticked().length < boxes.length;
    boxes.forEach((b) => { b.checked = all; });
    refreshBulk();
  }

  // Submit the bulk form: on the ticked rows, else on the current row; false if it cannot.
  function bulkAct(action) {
    if (!bulkForm) return false;
    const button = $('[data-bulk="' + action + '"]', bulkForm);
    if (!button) return false;
    if (!ticked().length) {
      const row = currentRow();
      const box = row ? $("[data-select]", row) : null;
      if (!box) return false;
      box.checked = true;
    }
    bulkForm.requestSubmit(button);
    return true;
  }

  // ---------------------------------------------------------------- candidate page

  const note = $("[data-note]");
  const featureButton = $("[data-feature-submit]");

  function focusNote() {
    if (!note) return;
    note.focus();
    const end = note.value.length;
    note.setSelectionRange(end, end);
  }

  if (note && location.hash === "#note") focusNote();

  // The note's length, as the server counts it (characters, not UTF-16 units), shown near
  // the limit: the desk refuses a longer note rather than cut it.
  const maxNote = note ? Number(note.getAttribute("data-max-note")) || 0 : 0;
  const counter = $("[data-note-count]");

  function noteLength() {
    const text = note.value.replace(/\r\n/g, "\n").trim();
    return text.length <= maxNote ? text.length : Array.from(text).length;
  }

  function noteTooLong() {
    if (!note || !maxNote) return "";
    const n = noteLength();
    const fmt = (x) => x.toLocaleString("en-US");
    if (counter) {
      counter.textContent = n > maxNote * 0.9 ? `${fmt(n)} of ${fmt(maxNote)} characters` : "";
      counter.classList.toggle("is-over", n > maxNote);
    }
    if (n <= maxNote) {
      note.removeAttribute("aria-invalid");
      return "";
    }
    note.setAttribute("aria-invalid", "true");
    return `This note has ${fmt(n)} characters; a note can have at most ${fmt(maxNote)}. ` +
      `Shorten it by ${fmt(n - maxNote)} to save it.`;
  }

  if (note) {
    noteTooLong();
    note.addEventListener("input", noteTooLong);
  }

  // ---------------------------------------------------------------- live preview

  const preview = $("[data-preview]");
  if (note && preview) {
    const previewUrl = note.getAttribute("data-preview-url");
    const tokenMeta = $('meta[name="csrf-token"]');
    const token = tokenMeta ? tokenMeta.getAttribute("content") : "";
    const fallback = $("[data-preview-button]");
    if (fallback) fallback.hidden = true; // the preview is live; the button is for no-script use
    let timer = 0;
    let sequence = 0;

    const showError = (message) => {
      preview.textContent = "";
      const p = document.createElement("p");
      p.className = "alert";
      p.textContent = message;
      preview.appendChild(p);
      preview.classList.remove("is-stale");
    };

    const update = async () => {
      const mine = ++sequence;
      const tooLong = noteTooLong();
      if (tooLong) {
        showError(tooLong); // no use sending megabytes to be told the same
        return;
      }
      try {
        const response = await fetch(previewUrl, {
          method: "POST",
          credentials: "same-origin",
          headers: { "X-CSRFToken": token, "Content-Type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ note: note.value }),
        });
        const data = await response.json().catch(() => ({}));
        if (mine !== sequence) return; // an older answer arriving late
        if (data.error) {
          showError(data.error);
          return;
        }
        if (!response.ok) throw new Error("preview: HTTP " + response.status);
        // This HTML came from the server's Markdown renderer through nh3, the same path the
        // published feed takes; the page's CSP also refuses any inline script or handler.
        if (data.html && data.html.trim()) {
          preview.innerHTML = data.html;
        } else {
          preview.innerHTML = '<p class="muted">Nothing written yet.</p>';
        }
        preview.classList.remove("is-stale");
      } catch (err) {
        if (mine === sequence) preview.classList.add("is-stale");
      }
    };

    note.addEventListener("input", () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(update, 250);
    });
  }

  // ---------------------------------------------------------------- filters

  $$("form[data-autosubmit]").forEach((form) => {
    $$("select", form).forEach((select) => {
      select.addEventListener("change", () => form.requestSubmit());
    });
    // Empty filters stay out of the URL, so it reads as what was asked for.
    form.addEventListener("formdata", (e) => {
      for (const [name, value] of Array.from(e.formData.entries())) {
        if (value === "") e.formData.delete(name);
      }
    });
  });

  // ---------------------------------------------------------------- confirmations

  $$("[data-toasts] [data-dismiss]").forEach((button) => {
    button.hidden = false;
    button.addEventListener("click", () => {
      const flash = button.closest(".flash");
      if (flash) flash.hidden = true;
    });
  });

  // ---------------------------------------------------------------- keys

  function clickIn(root, selector) {
    const el = root ? $(selector, root) : null;
    if (el) el.click();
    return !!el;
  }

  document.addEventListener("keydown", (e) => {
    if (e.defaultPrevented || e.isComposing) return;
    const target = e.target;
    if (isTyping(target)) {
      if (target === note && e.key === "Enter" && (e.ctrlKey || e.metaKey) && featureButton) {
        e.preventDefault();
        featureButton.click();
      } else if (e.key === "Escape" && target.tagName !== "SELECT") {
        target.blur();
      }
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (help && help.open) return;
    const row = currentRow();
    // In the queue, o and x act on the selected row only; on a candidate's page, on the page.
    const scope = rows.length ? row : document;
    switch (e.key) {
      case "j":
        select(selected + 1, true);
        break;
      case "k":
        select(selected < 0 ? 0 : selected - 1, true);
        break;
      case "o":
        if (!clickIn(scope, "[data-original-link]")) return;
        break;
      case "f":
        if (note) focusNote();
        else if (row) window.location.assign(row.getAttribute("data-href") + "#note");
        else return;
        break;
      case "x":
        if (ticked().length) bulkAct("reject");
        else if (!clickIn(scope, "[data-reject]")) return;
        break;
      case "s": {
        const box = row ? $("[data-select]", row) : null;
        if (!box) return;
        box.checked = !box.checked;
        refreshBulk();
        break;
      }
      case "a":
        if (!boxes.length) return;
        toggleAll();
        break;
      case "e":
        if (!bulkAct("seen")) return;
        break;
      case "v":
        if (!clickIn(document, "[data-density]")) return;
        break;
      case "/": {
        const search = $("[data-search]");
        if (!search) return;
        search.focus();
        search.select();
        break;
      }
      case "z": {
        // Undo what the last confirmation offers to undo (a feature or a reject).
        const undo = $("[data-toasts] .flash:not([hidden]) [data-undo] button");
        if (!undo) return;
        undo.click();
        break;
      }
      case "?":
        showHelp();
        break;
      default:
        return;
    }
    e.preventDefault();
  });
})();
