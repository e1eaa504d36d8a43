/**
 * A readable dump of an item tree, one item a line, for people reading a capture:
 * `  ProtocolVersionMajor (0x42006A) Integer: 2`. Names, enumerations and masks come from the registry.
 */
import { type Registry, hexTag, registry as defaultRegistry } from './registry.js';
import type { Item } from './types.js';
import { formatValue } from './values.js';

export function toText(it: Item, registry: Registry = defaultRegistry): string {
  const lines: string[] = [];
  const walk = (node: Item, depth: number, nameTag: number): void => {
    const head = `${'  '.repeat(depth)}${registry.tagName(node.tag)} (${hexTag(node.tag)}) ${node.type}`;
    if (node.type === 'Structure') {
      lines.push(`${head}, ${node.value.length} item${node.value.length === 1 ? '' : 's'}`);
      const context = registry.siblingContext();
      for (const child of node.value) walk(child, depth + 1, context(child.tag, child.type === 'TextString' ? child.value : undefined));
    } else {
      const value = formatValue(registry, node, ' | ', nameTag);
      lines.push(`${head}: ${node.type === 'TextString' ? JSON.stringify(value) : value}`);
    }
  };
  walk(it, 0, it.tag);
  return lines.join('\n');
}
