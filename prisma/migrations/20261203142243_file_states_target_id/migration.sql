-- CreateIndex
CREATE INDEX "file_states_connector_id_target_id_idx" ON "file_states"("connector_id", "target_id");

