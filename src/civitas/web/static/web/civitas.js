/* Civitas page behaviour. No inline scripts: the CSP allows only files from this site. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // Switch language as soon as one is chosen; the button stays for keyboard and no-JS users.
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () {
        if (select.form) { select.form.requestSubmit ? select.form.requestSubmit() : select.form.submit(); }
      });
    });
  });
})();
