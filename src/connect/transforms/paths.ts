/** Dotted field paths (`customer.address.city`) into plain objects, without mutating them. Pure. */

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v) && !(v instanceof Date);
}

export function getPath(root: unknown, path: string): { exists: boolean; value: unknown } {
  let cur: unknown = root;
  for (const part of path.split('.')) {
    if (!isPlainObject(cur) || !(part in cur)) return { exists: false, value: undefined };
    cur = cur[part];
  }
  return { exists: true, value: cur };
}

/** A copy of `root` with `path` set (creating objects on the way). */
export function setPath(root: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const [head, ...rest] = path.split('.');
  if (rest.length === 0) return { ...root, [head!]: value };
  const child = isPlainObject(root[head!]) ? (root[head!] as Record<string, unknown>) : {};
  return { ...root, [head!]: setPath(child, rest.join('.'), value) };
}

/** A copy of `root` without `path` (unchanged when it is not there). */
export function deletePath(root: Record<string, unknown>, path: string): Record<string, unknown> {
  const [head, ...rest] = path.split('.');
  if (!(head! in root)) return root;
  if (rest.length === 0) {
    const { [head!]: _drop, ...kept } = root;
    return kept;
  }
  const child = root[head!];
  if (!isPlainObject(child)) return root;
  return { ...root, [head!]: deletePath(child, rest.join('.')) };
}
