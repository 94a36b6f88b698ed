import {
  ConflictError,
  NotFoundError,
  ValidationError,
  newId,
  type FieldIssue,
} from '@scaidrive/core';
import { Prisma, type Connector, type IdentityMapping, type PrismaClient } from '@scaidrive/db';
import type { Actor } from './actor.js';
import type { AuditLog } from './audit.js';
import { parseCsv } from './csv.js';
import { entraPrincipalKey, smbPrincipalKey } from './validation.js';

export interface MappingInput {
  identity_type: 'user' | 'group';
  smb_principal: string;
  scaidrive_principal_id: string;
}

interface Checked {
  input: MappingInput;
  key: string;
  sid: string | null;
}

export const MAX_IMPORT_ROWS = 5000;

const PRINCIPAL_COLUMNS = [
  'smb_principal',
  'smb_sid',
  'smb_name',
  'entra_id',
  'azure_object_id',
  'object_id',
  'principal',
];
const TARGET_COLUMNS = [
  'scaidrive_principal_id',
  'scaidrive_user_id',
  'scaidrive_group_id',
  'scaidrive_user',
  'scaidrive_group',
  'scaidrive_principal',
];

/** Source principal → ScaiDrive user/group, per connector. */
export class IdentityMappingService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly audit: AuditLog,
  ) {}

  async list(connector: Connector, opts: { limit: number; offset: number }) {
    const where = { tenantId: connector.tenantId, connectorId: connector.id };
    const [rows, total] = await Promise.all([
      this.prisma.identityMapping.findMany({
        where,
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        take: opts.limit,
        skip: opts.offset,
      }),
      this.prisma.identityMapping.count({ where }),
    ]);
    return { rows, total };
  }

  async create(actor: Actor, connector: Connector, input: MappingInput): Promise<IdentityMapping> {
    const issues: FieldIssue[] = [];
    const checked = this.checkShape(connector, input, 'body', issues);
    if (checked) await this.checkPrincipals(connector.tenantId, [checked], ['body'], issues);
    if (issues.length || !checked) throw new ValidationError('Invalid identity mapping', issues);
    try {
      return await this.prisma.$transaction(async (tx) => {
        const row = await tx.identityMapping.create({ data: this.row(connector, checked) });
        await this.audit.record(tx, actor, {
          action: 'identity_mapping.created',
          resourceType: 'identity_mapping',
          resourceId: row.id,
          payload: {
            connector_id: connector.id,
            identity_type: input.identity_type,
            scaidrive_principal_id: input.scaidrive_principal_id,
          },
        });
        return row;
      });
    } catch (err) {
      if (isUniqueViolation(err))
        throw new ConflictError('This source principal is already mapped for this connector', {
          details: { smb_principal: input.smb_principal },
        });
      throw err;
    }
  }

  async delete(actor: Actor, connector: Connector, mappingId: string): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      const r = await tx.identityMapping.deleteMany({
        where: { id: mappingId, tenantId: connector.tenantId, connectorId: connector.id },
      });
      if (r.count === 0) throw new NotFoundError('Identity mapping');
      await this.audit.record(tx, actor, {
        action: 'identity_mapping.deleted',
        resourceType: 'identity_mapping',
        resourceId: mappingId,
        payload: { connector_id: connector.id },
      });
    });
  }

  /** All-or-nothing CSV import; rows identical to an existing mapping count as unchanged. */
  async importCsv(
    actor: Actor,
    connector: Connector,
    csv: string,
  ): Promise<{ created: IdentityMapping[]; unchanged: number }> {
    const { rows, error } = parseCsv(csv);
    if (error) throw new ValidationError('Invalid CSV', [{ field: 'body', reason: error }]);
    if (rows.length < 2)
      throw new ValidationError('Invalid CSV', [
        { field: 'body', reason: 'needs a header row and at least one data row' },
      ]);
    if (rows.length - 1 > MAX_IMPORT_ROWS)
      throw new ValidationError('Invalid CSV', [
        { field: 'body', reason: `at most ${MAX_IMPORT_ROWS} rows` },
      ]);
    const header = rows[0]!.map((h) => h.toLowerCase().replace(/[\s-]+/g, '_'));
    const pi = header.findIndex((h) => PRINCIPAL_COLUMNS.includes(h));
    const ti = header.findIndex((h) => TARGET_COLUMNS.includes(h));
    const ki = header.indexOf('identity_type');
    if (pi < 0 || ti < 0)
      throw new ValidationError('Invalid CSV header', [
        {
          field: 'body.line 1',
          reason: `needs a source principal column (${PRINCIPAL_COLUMNS.join('/')}) and a ScaiDrive principal column (${TARGET_COLUMNS.join('/')})`,
        },
      ]);
    const issues: FieldIssue[] = [];
    const checked: Checked[] = [];
    const lines: string[] = [];
    const seen = new Map<string, number>();
    rows.slice(1).forEach((cells, idx) => {
      const line = `body.line ${idx + 2}`;
      const target = cells[ti] ?? '';
      const kind =
        (ki >= 0 ? cells[ki] : '')?.toLowerCase() || (target.startsWith('grp_') ? 'group' : 'user');
      if (kind !== 'user' && kind !== 'group') {
        issues.push({ field: line, reason: 'identity_type must be user or group' });
        return;
      }
      const c = this.checkShape(
        connector,
        { identity_type: kind, smb_principal: cells[pi] ?? '', scaidrive_principal_id: target },
        line,
        issues,
      );
      if (!c) return;
      const dup = seen.get(c.key);
      if (dup !== undefined) {
        issues.push({ field: line, reason: `same source principal as line ${dup}` });
        return;
      }
      seen.set(c.key, idx + 2);
      checked.push(c);
      lines.push(line);
    });
    await this.checkPrincipals(connector.tenantId, checked, lines, issues);
    const existing = await this.prisma.identityMapping.findMany({
      where: { connectorId: connector.id, principalKey: { in: checked.map((c) => c.key) } },
    });
    const byKey = new Map(existing.map((e) => [e.principalKey, e]));
    const fresh: Checked[] = [];
    let unchanged = 0;
    checked.forEach((c, i) => {
      const e = byKey.get(c.key);
      if (!e) fresh.push(c);
      else if (
        e.scaidrivePrincipalId === c.input.scaidrive_principal_id &&
        e.identityType === c.input.identity_type
      )
        unchanged++;
      else issues.push({ field: lines[i]!, reason: `already mapped to ${e.scaidrivePrincipalId}` });
    });
    if (issues.length) throw new ValidationError('Invalid CSV rows; nothing was imported', issues);
    try {
      const created = await this.prisma.$transaction(async (tx) => {
        const out: IdentityMapping[] = [];
        for (const c of fresh)
          out.push(await tx.identityMapping.create({ data: this.row(connector, c) }));
        await this.audit.record(tx, actor, {
          action: 'identity_mapping.imported',
          resourceType: 'connector',
          resourceId: connector.id,
          payload: { created: out.length, unchanged },
        });
        return out;
      });
      return { created, unchanged };
    } catch (err) {
      if (isUniqueViolation(err))
        throw new ConflictError('A mapping was created concurrently; retry the import');
      throw err;
    }
  }

  private row(connector: Connector, c: Checked): Prisma.IdentityMappingUncheckedCreateInput {
    return {
      id: newId('map'),
      tenantId: connector.tenantId,
      connectorId: connector.id,
      identityType: c.input.identity_type,
      smbPrincipal: c.input.smb_principal.trim(),
      principalKey: c.key,
      resolvedSid: c.sid,
      scaidrivePrincipalId: c.input.scaidrive_principal_id,
    };
  }

  private checkShape(
    connector: Connector,
    input: MappingInput,
    prefix: string,
    issues: FieldIssue[],
  ): Checked | null {
    const at = (f: string) => (prefix === 'body' ? `body.${f}` : prefix);
    const before = issues.length;
    const key =
      connector.kind === 'smb'
        ? smbPrincipalKey(input.smb_principal)
        : entraPrincipalKey(input.smb_principal);
    if ('problem' in key) issues.push({ field: at('smb_principal'), reason: key.problem });
    const want = input.identity_type === 'user' ? 'usr_' : 'grp_';
    if (!/^(usr|grp)_[0-9A-HJKMNP-TV-Z]{26}$/.test(input.scaidrive_principal_id))
      issues.push({ field: at('scaidrive_principal_id'), reason: 'must be a usr_ or grp_ id' });
    else if (!input.scaidrive_principal_id.startsWith(want))
      issues.push({
        field: at('scaidrive_principal_id'),
        reason: `must be a ${input.identity_type} id (${want}…) for identity_type ${input.identity_type}`,
      });
    if (issues.length > before || 'problem' in key) return null;
    return { input, key: key.key, sid: 'sid' in key ? (key.sid as string | null) : null };
  }

  /** Every ScaiDrive principal must be a user/group of the connector's tenant. */
  private async checkPrincipals(
    tenantId: string,
    checked: Checked[],
    where: string[],
    issues: FieldIssue[],
  ) {
    const userIds = checked
      .filter((c) => c.input.identity_type === 'user')
      .map((c) => c.input.scaidrive_principal_id);
    const groupIds = checked
      .filter((c) => c.input.identity_type === 'group')
      .map((c) => c.input.scaidrive_principal_id);
    const [users, groups] = await Promise.all([
      userIds.length
        ? this.prisma.user.findMany({
            where: { tenantId, id: { in: userIds } },
            select: { id: true },
          })
        : [],
      groupIds.length
        ? this.prisma.group.findMany({
            where: { tenantId, id: { in: groupIds } },
            select: { id: true },
          })
        : [],
    ]);
    const known = new Set([...users, ...groups].map((x) => x.id));
    checked.forEach((c, i) => {
      if (!known.has(c.input.scaidrive_principal_id))
        issues.push({
          field: where[i] === 'body' ? 'body.scaidrive_principal_id' : where[i]!,
          reason: `no such ${c.input.identity_type} in your tenant`,
        });
    });
  }
}

function isUniqueViolation(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';
}
