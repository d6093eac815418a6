// The new-account form: ticking a venue suggests the box-office role, choosing an issuing site
// the issuer role, as long as no role has been chosen. Without JavaScript the server says the same
// when the form is sent.
const role = document.querySelector("select#role");

function suggest(value) {
  if (role.value === "" && [...role.options].some((option) => option.value === value)) {
    role.value = value;
  }
}

if (role && role.querySelector('option[value=""]')) {
  for (const box of document.querySelectorAll('input[type="checkbox"][name="venues"]')) {
    box.addEventListener("change", () => { if (box.checked) suggest("boxoffice"); });
  }
  const site = document.querySelector("select#issuing_site");
  site?.addEventListener("change", () => { if (site.value) suggest("issuer"); });
}
