/**
 * List-item fields (`/items/{id}/listItem/fields`). SharePoint returns system columns next to the
 * library's own; only the library's columns (and Title) are synced — the rest is SharePoint's
 * bookkeeping and cannot be written.
 */
const SYSTEM_FIELDS = new Set([
  'id',
  'ContentType',
  'Created',
  'Modified',
  'AuthorLookupId',
  'EditorLookupId',
  'FileLeafRef',
  'FileRef',
  'FileDirRef',
  'FileSizeDisplay',
  'ItemChildCount',
  'FolderChildCount',
  'LinkFilename',
  'LinkFilenameNoMenu',
  'DocIcon',
  'Edit',
  'Attachments',
  'AppAuthorLookupId',
  'AppEditorLookupId',
  'ComplianceAssetId',
  'CheckoutUserLookupId',
  'ParentVersionStringLookupId',
  'ParentLeafNameLookupId',
]);

export function userFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (k.startsWith('@') || k.startsWith('_') || SYSTEM_FIELDS.has(k) || k.endsWith('LookupId'))
      continue;
    out[k] = v;
  }
  return out;
}
