// Small DOM helpers the page's modules share: finding an element, and
// handing the user a file to download.

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

/** Offers `blob` as a download named `name`. */
export function downloadBlob(name, blob) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

/** Offers `value` as a pretty-printed JSON download. */
export function downloadJson(name, value) {
  downloadBlob(name, new Blob([JSON.stringify(value, null, 2)], { type: 'application/json' }));
}
