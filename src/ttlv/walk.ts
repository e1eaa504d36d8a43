/** Tree helpers over item trees. */
import type { Item, LeafItem } from './types.js';

/** Rebuilds a tree, replacing each leaf by what `fn` returns for it (structures are walked). */
export function mapItems(it: Item, fn: (leaf: LeafItem) => LeafItem): Item {
  if (it.type === 'Structure') return { tag: it.tag, type: 'Structure', value: it.value.map((c) => mapItems(c, fn)) };
  return fn(it);
}

/**
 * Replaces every placeholder leaf (`$NOW`, `$KEY_MATERIAL_0`…) by the value `resolve` gives for
 * it, so the tree can be encoded as binary. `resolve` returns a leaf of the same tag and type.
 */
export function resolvePlaceholders(it: Item, resolve: (leaf: LeafItem & { placeholder: string }) => LeafItem): Item {
  return mapItems(it, (leaf) => (leaf.placeholder === undefined ? leaf : resolve(leaf as LeafItem & { placeholder: string })));
}
