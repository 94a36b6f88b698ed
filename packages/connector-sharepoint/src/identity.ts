import { AuthFailedError, ErrorCode, UnreachableError, type AppError } from '@scaidrive/core';
import type { GraphApi } from './graph-client.js';
import type { Page } from './items.js';

/**
 * Azure identity helpers for identity mappings: directory `$search` (which needs the header
 * `ConsistencyLevel: eventual`). Errors are the connector's: CONNECTOR_AUTH_FAILED when Entra or
 * Graph refuse us (including missing directory permissions), CONNECTOR_UNREACHABLE otherwise.
 */
export interface DirectoryUser {
  id: string;
  email: string | null;
  name: string;
}
export interface DirectoryGroup {
  id: string;
  name: string;
  email: string | null;
}

function term(query: string): string {
  return query.replace(/["\\]/g, '').trim();
}

function mapSearchError(e: unknown): Error {
  const err = e as AppError;
  if (err.code === ErrorCode.CONNECTOR_AUTH_FAILED || err.code === ErrorCode.CONNECTOR_REAUTHORIZE)
    return err;
  if (err.code === ErrorCode.ITEM_ACCESS_DENIED)
    return new AuthFailedError(
      'The app may not read the directory (needs User.Read.All / Group.Read.All)',
      { cause: e },
    );
  if (err.code === ErrorCode.CONNECTOR_UNREACHABLE) return err;
  return new UnreachableError(`Directory search failed: ${err.message ?? 'unknown error'}`, {
    cause: e,
  });
}

export async function searchUsers(
  api: GraphApi,
  query: string,
  top = 25,
): Promise<DirectoryUser[]> {
  const q = term(query);
  if (!q) return [];
  const search = `"displayName:${q}" OR "mail:${q}" OR "userPrincipalName:${q}"`;
  try {
    const page = await api.get<
      Page<{ id: string; displayName?: string; mail?: string | null; userPrincipalName?: string }>
    >(
      `/users?$search=${encodeURIComponent(search)}&$select=id,displayName,mail,userPrincipalName&$top=${top}`,
      { headers: { ConsistencyLevel: 'eventual' }, what: 'directory' },
    );
    return page.value.map((u) => ({
      id: u.id,
      email: u.mail ?? u.userPrincipalName ?? null,
      name: u.displayName ?? u.userPrincipalName ?? u.id,
    }));
  } catch (e) {
    throw mapSearchError(e);
  }
}

export async function searchGroups(
  api: GraphApi,
  query: string,
  top = 25,
): Promise<DirectoryGroup[]> {
  const q = term(query);
  if (!q) return [];
  const search = `"displayName:${q}" OR "mail:${q}"`;
  try {
    const page = await api.get<Page<{ id: string; displayName?: string; mail?: string | null }>>(
      `/groups?$search=${encodeURIComponent(search)}&$select=id,displayName,mail&$top=${top}`,
      { headers: { ConsistencyLevel: 'eventual' }, what: 'directory' },
    );
    return page.value.map((g) => ({
      id: g.id,
      name: g.displayName ?? g.id,
      email: g.mail ?? null,
    }));
  } catch (e) {
    throw mapSearchError(e);
  }
}
