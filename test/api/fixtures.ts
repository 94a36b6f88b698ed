/**
 * Valid request bodies; tests override fields. Each body targets a folder of its own (connectors
 * of one share may not overlap).
 */
let seq = 0;
const own = (base: string) => `${base} ${++seq}`;

export function smbBody(
  shareId: string,
  over: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name: 'Finance Fileserver',
    description: 'Legacy Windows share',
    server_host: '127.0.0.1',
    server_port: 445,
    share_name: 'Finance',
    base_path: '2026',
    domain: 'CORP',
    username: 'scaidrive-svc',
    password: 'S3cr3t-Pa55word!',
    target_share_id: shareId,
    target_path: own('/From Fileserver'),
    sync_direction: 'bidirectional',
    sync_permissions: true,
    sync_hidden_files: false,
    sync_system_files: false,
    include_patterns: { extensions: ['pdf', 'DOCX', 'xlsx'] },
    exclude_patterns: { patterns: ['~$*'] },
    conflict_resolution: 'LAST_WRITER_WINS',
    sync_interval_minutes: 15,
    ...over,
  };
}

export function spBody(
  shareId: string,
  over: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name: 'Marketing site',
    site_url: 'https://contoso.sharepoint.com/sites/marketing',
    library_name: 'Documents',
    base_path: 'Campaigns/2026',
    azure_tenant_id: '11111111-2222-3333-4444-555555555555',
    azure_client_id: '22222222-3333-4444-5555-666666666666',
    azure_client_secret: 'Az-Cl1ent~Secret.Value',
    auth_type: 'app_auth',
    target_share_id: shareId,
    target_path: own('/From SharePoint'),
    sync_direction: 'sharepoint_to_scaidrive',
    sync_versions: true,
    sync_metadata: true,
    sync_interval_minutes: 30,
    ...over,
  };
}
