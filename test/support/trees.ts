import { createHash } from 'node:crypto';
import { mkdir, writeFile, utimes } from 'node:fs/promises';
import path from 'node:path';
import type { FileTree } from '@scaidrive/sync';

export interface TreeItem {
  kind: 'file' | 'folder';
  size: number;
  sha256?: string;
}

/** Every item of a tree by path, with the SHA-256 of each file's content (read through the tree). */
export async function snapshotTree(
  tree: FileTree,
  options: { hashes?: boolean; root?: string } = {},
): Promise<Map<string, TreeItem>> {
  const out = new Map<string, TreeItem>();
  const walk = async (dir: string): Promise<void> => {
    for await (const e of tree.list(dir)) {
      if (e.kind === 'folder') {
        out.set(e.path, { kind: 'folder', size: 0 });
        await walk(e.path);
      } else {
        const item: TreeItem = { kind: 'file', size: e.size };
        if (options.hashes ?? true) {
          const { stream } = await tree.read(e.path);
          const h = createHash('sha256');
          for await (const chunk of stream) h.update(chunk as Buffer);
          item.sha256 = h.digest('hex');
        }
        out.set(e.path, item);
      }
    }
  };
  await walk(options.root ?? '');
  return out;
}

/** Human-readable differences between two snapshots (empty = identical). */
export function diffSnapshots(a: Map<string, TreeItem>, b: Map<string, TreeItem>): string[] {
  const problems: string[] = [];
  for (const [p, item] of a) {
    const other = b.get(p);
    if (!other) problems.push(`only in first: ${p}`);
    else if (other.kind !== item.kind) problems.push(`kind differs: ${p}`);
    else if (item.kind === 'file' && (other.size !== item.size || other.sha256 !== item.sha256))
      problems.push(`content differs: ${p} (${item.size} B vs ${other.size} B)`);
  }
  for (const p of b.keys()) if (!a.has(p)) problems.push(`only in second: ${p}`);
  return problems.sort();
}

/** Writes `count` files of `size` bytes (deterministic content) spread over `folders` folders. */
export async function writeSampleTree(
  root: string,
  options: { folders: number; files: number; size: number; seed?: string; mtime?: Date },
): Promise<void> {
  for (let i = 0; i < options.files; i++) {
    const dir = path.join(root, `folder-${String(i % options.folders).padStart(3, '0')}`);
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, `file-${String(i).padStart(5, '0')}.bin`);
    const content = Buffer.alloc(options.size, `${options.seed ?? 's'}:${i}:`);
    await writeFile(file, content);
    if (options.mtime) await utimes(file, options.mtime, options.mtime);
  }
}
