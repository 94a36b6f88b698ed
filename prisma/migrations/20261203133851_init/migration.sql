-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "tenants" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "tenants_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "users" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "email" TEXT,
    "display_name" TEXT,
    "role" TEXT NOT NULL DEFAULT 'user',
    "status" TEXT NOT NULL DEFAULT 'active',
    "last_seen_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "groups" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "email" TEXT,
    "description" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "groups_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "group_members" (
    "tenant_id" TEXT NOT NULL,
    "group_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "group_members_pkey" PRIMARY KEY ("group_id","user_id")
);

-- CreateTable
CREATE TABLE "service_tokens" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "token_hint" TEXT NOT NULL,
    "scopes" TEXT[],
    "user_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    "last_used_at" TIMESTAMPTZ(3),

    CONSTRAINT "service_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "shares" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "share_type" TEXT NOT NULL DEFAULT 'central',
    "owner_id" TEXT NOT NULL,
    "quota_bytes" BIGINT,
    "used_bytes" BIGINT NOT NULL DEFAULT 0,
    "root_node_id" TEXT,
    "deleted_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "shares_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "share_members" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "share_id" TEXT NOT NULL,
    "principal_type" TEXT NOT NULL,
    "principal_id" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "share_members_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "nodes" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "share_id" TEXT NOT NULL,
    "parent_id" TEXT,
    "kind" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "name_key" TEXT NOT NULL,
    "live_name_key" TEXT,
    "size" BIGINT NOT NULL DEFAULT 0,
    "sha256" TEXT,
    "mime_type" TEXT,
    "version" INTEGER NOT NULL DEFAULT 0,
    "current_version_id" TEXT,
    "modified_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revision" INTEGER NOT NULL DEFAULT 1,
    "inherit_acl" BOOLEAN NOT NULL DEFAULT true,
    "metadata" JSONB,
    "created_by" TEXT,
    "modified_by" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "deleted_at" TIMESTAMPTZ(3),
    "deleted_by" TEXT,
    "trash_root" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "nodes_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "file_versions" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "node_id" TEXT NOT NULL,
    "version_number" INTEGER NOT NULL,
    "size" BIGINT NOT NULL,
    "sha256" TEXT NOT NULL,
    "chunk_size" INTEGER NOT NULL,
    "modified_at" TIMESTAMPTZ(3) NOT NULL,
    "created_by" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "origin" TEXT,

    CONSTRAINT "file_versions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "version_chunks" (
    "version_id" TEXT NOT NULL,
    "idx" INTEGER NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "size" INTEGER NOT NULL,

    CONSTRAINT "version_chunks_pkey" PRIMARY KEY ("version_id","idx")
);

-- CreateTable
CREATE TABLE "chunks" (
    "tenant_id" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "ref_count" INTEGER NOT NULL DEFAULT 0,
    "touched_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "chunks_pkey" PRIMARY KEY ("tenant_id","hash")
);

-- CreateTable
CREATE TABLE "acl_entries" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "resource_type" TEXT NOT NULL,
    "resource_id" TEXT NOT NULL,
    "principal_type" TEXT NOT NULL,
    "principal_id" TEXT NOT NULL,
    "ace_type" TEXT NOT NULL,
    "permissions" INTEGER NOT NULL,
    "inherit_to_children" BOOLEAN NOT NULL DEFAULT true,
    "origin" TEXT NOT NULL DEFAULT 'manual',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "acl_entries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "change_log" (
    "seq" BIGSERIAL NOT NULL,
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "share_id" TEXT NOT NULL,
    "resource_type" TEXT NOT NULL,
    "resource_id" TEXT NOT NULL,
    "change_type" TEXT NOT NULL,
    "old_path" TEXT,
    "new_path" TEXT,
    "version" INTEGER,
    "changed_by" TEXT,
    "origin" TEXT,
    "changed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "change_log_pkey" PRIMARY KEY ("seq")
);

-- CreateTable
CREATE TABLE "connectors" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "target_share_id" TEXT NOT NULL,
    "target_path" TEXT NOT NULL,
    "sync_direction" TEXT NOT NULL,
    "sync_permissions" BOOLEAN NOT NULL DEFAULT false,
    "include_patterns" JSONB NOT NULL DEFAULT '{}',
    "exclude_patterns" JSONB NOT NULL DEFAULT '{}',
    "conflict_resolution" TEXT NOT NULL DEFAULT 'LAST_WRITER_WINS',
    "sync_interval_minutes" INTEGER NOT NULL DEFAULT 15,
    "status" TEXT NOT NULL DEFAULT 'idle',
    "status_message" TEXT,
    "error_count" INTEGER NOT NULL DEFAULT 0,
    "last_sync_at" TIMESTAMPTZ(3),
    "next_sync_at" TIMESTAMPTZ(3),
    "total_files_synced" BIGINT NOT NULL DEFAULT 0,
    "total_bytes_synced" BIGINT NOT NULL DEFAULT 0,
    "full_sync_required" BOOLEAN NOT NULL DEFAULT true,
    "config_revision" INTEGER NOT NULL DEFAULT 1,
    "created_by" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "server_host" TEXT,
    "server_port" INTEGER,
    "share_name" TEXT,
    "base_path" TEXT,
    "domain" TEXT,
    "username" TEXT,
    "password_enc" TEXT,
    "sync_hidden_files" BOOLEAN,
    "sync_system_files" BOOLEAN,
    "site_url" TEXT,
    "site_id" TEXT,
    "drive_id" TEXT,
    "library_name" TEXT,
    "azure_tenant_id" TEXT,
    "azure_client_id" TEXT,
    "azure_client_secret_enc" TEXT,
    "azure_certificate_enc" TEXT,
    "auth_type" TEXT,
    "sync_versions" BOOLEAN,
    "sync_metadata" BOOLEAN,
    "token_cache_enc" TEXT,
    "authorized_account_id" TEXT,
    "source_cursor" TEXT,
    "target_cursor" BIGINT,

    CONSTRAINT "connectors_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sync_jobs" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "connector_id" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'queued',
    "trigger" TEXT NOT NULL,
    "full_sync" BOOLEAN NOT NULL DEFAULT false,
    "confirm_deletes" BOOLEAN NOT NULL DEFAULT false,
    "queue_job_id" TEXT,
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "worker_id" TEXT,
    "created_by" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "heartbeat_at" TIMESTAMPTZ(3),
    "cancel_requested_at" TIMESTAMPTZ(3),
    "files_scanned" INTEGER NOT NULL DEFAULT 0,
    "files_synced" INTEGER NOT NULL DEFAULT 0,
    "bytes_transferred" BIGINT NOT NULL DEFAULT 0,
    "error_count" INTEGER NOT NULL DEFAULT 0,
    "conflicts" INTEGER NOT NULL DEFAULT 0,
    "deletes" INTEGER NOT NULL DEFAULT 0,
    "message" TEXT,
    "summary" JSONB,

    CONSTRAINT "sync_jobs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "file_states" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "connector_id" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "path_key" TEXT NOT NULL,
    "parent_key" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "source_id" TEXT,
    "source_size" BIGINT,
    "source_mtime" TIMESTAMPTZ(3),
    "source_version" TEXT,
    "source_hash" TEXT,
    "target_id" TEXT,
    "target_version" TEXT,
    "target_size" BIGINT,
    "target_mtime" TIMESTAMPTZ(3),
    "target_hash" TEXT,
    "acl_hash" TEXT,
    "metadata_hash" TEXT,
    "last_synced_at" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "last_error_code" TEXT,
    "conflict" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "file_states_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "identity_mappings" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "connector_id" TEXT NOT NULL,
    "identity_type" TEXT NOT NULL,
    "smb_principal" TEXT NOT NULL,
    "principal_key" TEXT NOT NULL,
    "resolved_sid" TEXT,
    "scaidrive_principal_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "identity_mappings_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "oauth_states" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "connector_id" TEXT NOT NULL,
    "state_hash" TEXT NOT NULL,
    "code_verifier_enc" TEXT NOT NULL,
    "nonce" TEXT NOT NULL,
    "redirect_uri" TEXT NOT NULL,
    "created_by" TEXT,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "oauth_states_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_events" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "category" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "actor_id" TEXT,
    "resource_type" TEXT,
    "resource_id" TEXT,
    "request_id" TEXT,
    "payload" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "users_tenant_id_email_idx" ON "users"("tenant_id", "email");

-- CreateIndex
CREATE UNIQUE INDEX "users_tenant_id_id_key" ON "users"("tenant_id", "id");

-- CreateIndex
CREATE INDEX "groups_tenant_id_name_idx" ON "groups"("tenant_id", "name");

-- CreateIndex
CREATE UNIQUE INDEX "groups_tenant_id_id_key" ON "groups"("tenant_id", "id");

-- CreateIndex
CREATE INDEX "group_members_tenant_id_user_id_idx" ON "group_members"("tenant_id", "user_id");

-- CreateIndex
CREATE UNIQUE INDEX "service_tokens_token_hash_key" ON "service_tokens"("token_hash");

-- CreateIndex
CREATE INDEX "service_tokens_tenant_id_idx" ON "service_tokens"("tenant_id");

-- CreateIndex
CREATE UNIQUE INDEX "shares_root_node_id_key" ON "shares"("root_node_id");

-- CreateIndex
CREATE INDEX "shares_tenant_id_deleted_at_idx" ON "shares"("tenant_id", "deleted_at");

-- CreateIndex
CREATE UNIQUE INDEX "shares_tenant_id_id_key" ON "shares"("tenant_id", "id");

-- CreateIndex
CREATE INDEX "share_members_tenant_id_principal_id_idx" ON "share_members"("tenant_id", "principal_id");

-- CreateIndex
CREATE UNIQUE INDEX "share_members_share_id_principal_type_principal_id_key" ON "share_members"("share_id", "principal_type", "principal_id");

-- CreateIndex
CREATE INDEX "nodes_parent_id_kind_idx" ON "nodes"("parent_id", "kind");

-- CreateIndex
CREATE INDEX "nodes_tenant_id_share_id_deleted_at_idx" ON "nodes"("tenant_id", "share_id", "deleted_at");

-- CreateIndex
CREATE UNIQUE INDEX "nodes_tenant_id_id_key" ON "nodes"("tenant_id", "id");

-- CreateIndex
CREATE UNIQUE INDEX "nodes_share_id_parent_id_live_name_key_key" ON "nodes"("share_id", "parent_id", "live_name_key");

-- CreateIndex
CREATE INDEX "file_versions_tenant_id_idx" ON "file_versions"("tenant_id");

-- CreateIndex
CREATE UNIQUE INDEX "file_versions_node_id_version_number_key" ON "file_versions"("node_id", "version_number");

-- CreateIndex
CREATE UNIQUE INDEX "file_versions_node_id_origin_key" ON "file_versions"("node_id", "origin");

-- CreateIndex
CREATE INDEX "version_chunks_tenant_id_hash_idx" ON "version_chunks"("tenant_id", "hash");

-- CreateIndex
CREATE INDEX "chunks_ref_count_touched_at_idx" ON "chunks"("ref_count", "touched_at");

-- CreateIndex
CREATE INDEX "acl_entries_tenant_id_resource_id_idx" ON "acl_entries"("tenant_id", "resource_id");

-- CreateIndex
CREATE UNIQUE INDEX "acl_entries_resource_id_principal_type_principal_id_ace_typ_key" ON "acl_entries"("resource_id", "principal_type", "principal_id", "ace_type", "origin");

-- CreateIndex
CREATE UNIQUE INDEX "change_log_id_key" ON "change_log"("id");

-- CreateIndex
CREATE INDEX "change_log_tenant_id_share_id_seq_idx" ON "change_log"("tenant_id", "share_id", "seq");

-- CreateIndex
CREATE INDEX "connectors_tenant_id_kind_idx" ON "connectors"("tenant_id", "kind");

-- CreateIndex
CREATE INDEX "connectors_status_next_sync_at_idx" ON "connectors"("status", "next_sync_at");

-- CreateIndex
CREATE UNIQUE INDEX "connectors_tenant_id_id_key" ON "connectors"("tenant_id", "id");

-- CreateIndex
CREATE INDEX "sync_jobs_connector_id_created_at_idx" ON "sync_jobs"("connector_id", "created_at");

-- CreateIndex
CREATE INDEX "sync_jobs_tenant_id_connector_id_status_idx" ON "sync_jobs"("tenant_id", "connector_id", "status");

-- CreateIndex
CREATE UNIQUE INDEX "sync_jobs_tenant_id_id_key" ON "sync_jobs"("tenant_id", "id");

-- CreateIndex
CREATE INDEX "file_states_connector_id_parent_key_idx" ON "file_states"("connector_id", "parent_key");

-- CreateIndex
CREATE INDEX "file_states_connector_id_status_idx" ON "file_states"("connector_id", "status");

-- CreateIndex
CREATE INDEX "file_states_connector_id_source_id_idx" ON "file_states"("connector_id", "source_id");

-- CreateIndex
CREATE UNIQUE INDEX "file_states_connector_id_path_key_key" ON "file_states"("connector_id", "path_key");

-- CreateIndex
CREATE INDEX "identity_mappings_tenant_id_connector_id_idx" ON "identity_mappings"("tenant_id", "connector_id");

-- CreateIndex
CREATE UNIQUE INDEX "identity_mappings_connector_id_principal_key_key" ON "identity_mappings"("connector_id", "principal_key");

-- CreateIndex
CREATE UNIQUE INDEX "oauth_states_state_hash_key" ON "oauth_states"("state_hash");

-- CreateIndex
CREATE INDEX "oauth_states_connector_id_idx" ON "oauth_states"("connector_id");

-- CreateIndex
CREATE INDEX "audit_events_tenant_id_created_at_idx" ON "audit_events"("tenant_id", "created_at");

-- CreateIndex
CREATE INDEX "audit_events_tenant_id_resource_id_idx" ON "audit_events"("tenant_id", "resource_id");

-- AddForeignKey
ALTER TABLE "users" ADD CONSTRAINT "users_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "groups" ADD CONSTRAINT "groups_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "group_members" ADD CONSTRAINT "group_members_tenant_id_group_id_fkey" FOREIGN KEY ("tenant_id", "group_id") REFERENCES "groups"("tenant_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "group_members" ADD CONSTRAINT "group_members_tenant_id_user_id_fkey" FOREIGN KEY ("tenant_id", "user_id") REFERENCES "users"("tenant_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "service_tokens" ADD CONSTRAINT "service_tokens_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "shares" ADD CONSTRAINT "shares_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "share_members" ADD CONSTRAINT "share_members_tenant_id_share_id_fkey" FOREIGN KEY ("tenant_id", "share_id") REFERENCES "shares"("tenant_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "nodes" ADD CONSTRAINT "nodes_tenant_id_share_id_fkey" FOREIGN KEY ("tenant_id", "share_id") REFERENCES "shares"("tenant_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "nodes" ADD CONSTRAINT "nodes_parent_id_fkey" FOREIGN KEY ("parent_id") REFERENCES "nodes"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "file_versions" ADD CONSTRAINT "file_versions_node_id_fkey" FOREIGN KEY ("node_id") REFERENCES "nodes"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "version_chunks" ADD CONSTRAINT "version_chunks_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "file_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "connectors" ADD CONSTRAINT "connectors_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "connectors" ADD CONSTRAINT "connectors_tenant_id_target_share_id_fkey" FOREIGN KEY ("tenant_id", "target_share_id") REFERENCES "shares"("tenant_id", "id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sync_jobs" ADD CONSTRAINT "sync_jobs_tenant_id_connector_id_fkey" FOREIGN KEY ("tenant_id", "connector_id") REFERENCES "connectors"("tenant_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "file_states" ADD CONSTRAINT "file_states_tenant_id_connector_id_fkey" FOREIGN KEY ("tenant_id", "connector_id") REFERENCES "connectors"("tenant_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "identity_mappings" ADD CONSTRAINT "identity_mappings_tenant_id_connector_id_fkey" FOREIGN KEY ("tenant_id", "connector_id") REFERENCES "connectors"("tenant_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "oauth_states" ADD CONSTRAINT "oauth_states_tenant_id_connector_id_fkey" FOREIGN KEY ("tenant_id", "connector_id") REFERENCES "connectors"("tenant_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;

