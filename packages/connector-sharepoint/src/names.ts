import { splitPath } from '@scaidrive/core';

/**
 * SharePoint Online's naming rules ("Restrictions and limitations in OneDrive and SharePoint"):
 * no `" * : < > ? / \ |`, no leading or trailing spaces, no reserved names (`.lock`, `CON`, `PRN`,
 * `AUX`, `NUL`, `COM0-9`, `LPT0-9`, `desktop.ini`, anything containing `_vti_`, names starting with
 * `~$`), and the whole decoded path at most 400 characters.
 */
export const MAX_SHAREPOINT_PATH = 400;
const INVALID = /["*:<>?/\\|]/;
const RESERVED = /^(\.lock|con|prn|aux|nul|com[0-9]|lpt[0-9]|desktop\.ini)$/i;

/**
 * Why `name` cannot exist in `parentPath` (relative to the connector root) on SharePoint, or null.
 * `prefix` is the part of the drive path above the connector root (library base path), which
 * counts towards the 400-character limit.
 */
export function sharePointNameProblem(
  name: string,
  parentPath: string,
  prefix = '',
): string | null {
  if (name.length === 0) return 'name is empty';
  const bad = INVALID.exec(name);
  if (bad) return `SharePoint does not allow the character ${bad[0]} in names`;
  if (/^\s/.test(name)) return 'SharePoint does not allow names that begin with a space';
  if (/\s$/.test(name)) return 'SharePoint does not allow names that end with a space';
  if (RESERVED.test(name)) return `"${name}" is a reserved name in SharePoint`;
  if (name.toLowerCase().includes('_vti_')) return 'SharePoint does not allow "_vti_" in names';
  if (name.startsWith('~$')) return 'SharePoint does not allow names that start with "~$"';
  const full = [...splitPath(prefix), ...splitPath(parentPath), name].join('/');
  if (full.length > MAX_SHAREPOINT_PATH)
    return `the path would be ${full.length} characters long; SharePoint allows ${MAX_SHAREPOINT_PATH}`;
  return null;
}

/** Encodes a relative path for Graph path addressing (`items/{id}:/a/b%23c:`). */
export function encodeGraphPath(rel: string): string {
  return splitPath(rel).map(encodeURIComponent).join('/');
}

/** Office formats SharePoint may rewrite after upload (property promotion / demotion). */
const OFFICE =
  /\.(docx|docm|dotx|dotm|xlsx|xlsm|xltx|xltm|xlsb|pptx|pptm|potx|potm|ppsx|vsdx|vsdm|doc|dot|xls|xlt|ppt|pot|pps|vsd|one)$/i;
export function isOfficeDocument(name: string): boolean {
  return OFFICE.test(name);
}
