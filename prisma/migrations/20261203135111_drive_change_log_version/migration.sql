-- AlterTable
ALTER TABLE "change_log" ADD COLUMN     "metadata" JSONB,
ADD COLUMN     "version_id" TEXT;

-- CreateIndex
CREATE INDEX "acl_entries_tenant_id_principal_id_idx" ON "acl_entries"("tenant_id", "principal_id");

